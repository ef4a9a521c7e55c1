// `ktsw sim` without a running sim: a missing program is exit 3 naming the build step; status and down say there is
// nothing; bad flags are usage errors. These need no built programs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runKtsw } from "../support/cli.ts";
import { simCli, simFolder } from "./sim-support.ts";

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});
const temp = (make: () => string) => {
  const dir = make();
  temps.push(dir);
  return dir;
};

describe("ktsw sim without a sim", () => {
  test("up with a program not built exits 3, naming it and the build step, and leaves no state", async () => {
    const bin = temp(() => mkdtempSync(join(tmpdir(), "ktsw-simbin-")));
    const dir = join(temp(simFolder), "state");
    const r = await runKtsw(["sim", "--dir", dir, "--bin", bin, "up", "--no-build"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^ktsw: etcd not built \(looked for .*\/etcd-v3\.\d+\.\d+\); build it with `bash scripts\/build-sim-tools\.sh --out /,
    );
    expect(r.stderr).toContain("deps/sim-tools.txt");
  });

  test("status says there is no sim (exit 1) in text and JSON; down has nothing to stop", async () => {
    const dir = join(temp(simFolder), "state");
    const text = await simCli(dir, ["status"]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`no sim in ${dir}`);
    const json = await simCli(dir, ["status", "--format", "json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      running: false,
      dir,
      processes: [],
      nodes: [],
      pendingPods: [],
      flux: [],
    });
    const down = await simCli(dir, ["down"]);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain("nothing was running");
  });

  test("a --dir that is someone's folder (not empty, no sim in it) is refused by up and down, and left as it was", async () => {
    const dir = temp(simFolder);
    writeFileSync(join(dir, "notes.txt"), "mine\n");
    for (const verb of ["up", "down"]) {
      const r = await simCli(dir, [verb, ...(verb === "up" ? ["--no-build"] : [])]);
      expect(r.code, verb).toBe(1);
      expect(r.stdout, verb).toContain(`${dir} is not empty and holds no sim`);
      expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("mine\n");
    }
  });

  test("bad flags are usage errors (exit 2)", async () => {
    const dir = join(temp(simFolder), "state");
    expect((await simCli(dir, ["status", "--format", "yaml"])).code).toBe(2);
    expect((await simCli(dir, ["up", "--api-port", "http"])).code).toBe(2);
  });
});
