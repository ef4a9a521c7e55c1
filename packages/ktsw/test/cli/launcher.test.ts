// The launcher (`npx ktsw`): it starts the CLI from a bundle of its sources, made again whenever a
// source changed, so an edit shows on the next run with no build step; modules that find files
// beside themselves still find them from the bundle; V8's compiled code is kept per verb, and used
// only with the bundle it was compiled from.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { repo } from "../support/cli.ts";

let copy: string;
const pkg = () => join(copy, "packages", "ktsw");
const ktsw = (...args: string[]) =>
  execFileSync(process.execPath, [join(pkg(), "bin", "ktsw.js"), ...args], { cwd: copy, encoding: "utf8" });

beforeAll(() => {
  // A copy of the CLI package, so its sources can be edited; the repository's packages serve it.
  copy = mkdtempSync(join(tmpdir(), "ktsw-launcher-"));
  for (const part of ["bin", "src", "package.json"])
    cpSync(join(repo, "packages", "ktsw", part), join(pkg(), part), { recursive: true });
  symlinkSync(join(repo, "node_modules"), join(copy, "node_modules"));
  cpSync(join(repo, "deps"), join(copy, "deps"), { recursive: true });
});

afterAll(() => {
  rmSync(copy, { recursive: true, force: true });
});

describe("the launcher", () => {
  test("the first run bundles the sources; the bundle is what runs", () => {
    expect(ktsw("--help")).toContain("Kubernetes The Sweaty Way");
    const bundle = join(pkg(), ".cache", "cli.cjs");
    expect(existsSync(bundle)).toBe(true);
    const inputs = JSON.parse(readFileSync(join(pkg(), ".cache", "cli.inputs.json"), "utf8")) as Record<string, string>;
    expect(Object.keys(inputs)).toContain(join(pkg(), "src", "cli.ts"));
    // Its own sources and the packages it imports (bundled too: a changed package makes it again).
    const outside = Object.keys(inputs).filter(
      (f) => !f.startsWith(join(pkg(), "src")) && !f.includes("/node_modules/"),
    );
    expect(outside).toEqual([]);
    expect(Object.keys(inputs).some((f) => f.includes("/node_modules/yaml/"))).toBe(true);
  });

  test("an edited source shows on the next run, with no build step", () => {
    ktsw("--help");
    const cli = join(pkg(), "src", "cli.ts");
    const text = readFileSync(cli, "utf8");
    writeFileSync(cli, text.replace("one config file in", "one edited config file in"));
    expect(ktsw("--help")).toContain("one edited config file in");
  });

  test("the code V8 compiled is kept per verb and names the bundle it was compiled from", () => {
    ktsw("help");
    ktsw("help");
    const bundle = statSync(join(pkg(), ".cache", "cli.cjs"));
    const kept = readFileSync(join(pkg(), ".cache", "cli.cjs.help.v8-cache"));
    const header = kept.subarray(0, kept.indexOf(10)).toString();
    expect(header).toBe(`${bundle.ino}:${bundle.size}:${bundle.mtimeMs}`);
    expect(kept.length).toBeGreaterThan(header.length + 1000);
  });

  test("kept code is never run for another bundle, even one of the same length (V8 itself checks only the length)", () => {
    ktsw("help");
    const cli = join(pkg(), "src", "cli.ts");
    const text = readFileSync(cli, "utf8");
    const edited = text.replace("Kubernetes The Sweaty Way", "Kubernetes The SWEATY Way");
    expect(edited.length).toBe(text.length);
    writeFileSync(cli, edited);
    try {
      expect(ktsw("help")).toContain("Kubernetes The SWEATY Way");
      expect(ktsw("help")).toContain("Kubernetes The SWEATY Way");
    } finally {
      writeFileSync(cli, text);
    }
  });

  test("a module that finds files beside itself finds them from the bundle (the pinned tools list)", () => {
    // `ktsw doctor` reads deps/ through a path made from its own module's location.
    // Its exit code says whether this machine has every tool; what matters here is that it read the list.
    const run = spawnSync(process.execPath, [join(pkg(), "bin", "ktsw.js"), "doctor"], {
      cwd: copy,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(run.stdout).toContain("sigs.k8s.io/kustomize/kustomize/v5@");
  });
});
