// The command as a person runs it: a copy of the real repository's ktsw.yaml and kubernetes/ tree,
// validated through the CLI (text and JSON), then the same copy with one broken variable.
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { defaultSchemaSources } from "../../src/validate/index.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const work = mkdtempSync(join(tmpdir(), "ktsw-validate-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
cpSync(join(repo, "ktsw.yaml"), join(work, "ktsw.yaml"));
cpSync(join(repo, "kubernetes"), join(work, "kubernetes"), { recursive: true });
const sources = defaultSchemaSources(repo, undefined, undefined, "v1.33.5+k3s1");

function ktsw(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = join(repo, "packages/ktsw/src/cli.ts");
  const schemaArgs = ["--schemas", sources.crds, "--k8s-schemas", sources.builtinDir];
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", cli, "-c", join(work, "ktsw.yaml"), ...args, ...schemaArgs],
      { cwd: repo, env: { ...process.env, NO_COLOR: "1" } },
      (err, stdout, stderr) => {
        done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe("ktsw validate (CLI)", () => {
  test("the real tree: exit 0, one ✓ line per Flux Kustomization, JSON says ok", async () => {
    const text = await ktsw("validate");
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /✓ flux-system\/metallb-config {2}\.\/kubernetes\/networking\/metallb\/config {2}\(4 objects\)/,
    );
    expect(text.stdout).toMatch(/charts are not available offline/);
    const json = await ktsw("validate", "--format", "json");
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { ok: boolean; kustomizations: { name: string; errors: number }[] };
    expect(report.ok).toBe(true);
    expect(report.kustomizations.length).toBeGreaterThanOrEqual(11);
    expect(report.kustomizations.every((k) => k.errors === 0)).toBe(true);
  });

  test("a misspelt variable: exit 1, ✗ on its Kustomization, finding at file:line:col of the variable", async () => {
    const file = "kubernetes/networking/metallb/config/bgppeer.yaml";
    const original = readFileSync(join(work, file), "utf8");
    writeFileSync(join(work, file), original.replace("peerASN: ${ROUTER_ASN}", "peerASN: ${ROUTER_AS}"));
    const lines = readFileSync(join(work, file), "utf8").split("\n");
    const line = lines.findIndex((l) => l.includes("${ROUTER_AS}")) + 1;
    const col = (lines[line - 1] ?? "").indexOf("${ROUTER_AS}") + 1;
    const res = await ktsw("validate");
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/✗ flux-system\/metallb-config/);
    expect(res.stderr).toContain(`${file}:${line}:${col} undefined variable \${ROUTER_AS}`);
    writeFileSync(join(work, file), original);
  });

  test("ktsw.yaml and the Flux entry point disagree on the branch: reported at flux-system.yaml", async () => {
    const config = readFileSync(join(work, "ktsw.yaml"), "utf8");
    writeFileSync(join(work, "ktsw.yaml"), config.replace("  branch: main", "  branch: production"));
    const file = "kubernetes/clusters/homelab/flux-system.yaml";
    const line =
      readFileSync(join(work, file), "utf8")
        .split("\n")
        .findIndex((l) => l.includes("branch: main")) + 1;
    const res = await ktsw("validate");
    writeFileSync(join(work, "ktsw.yaml"), config);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      new RegExp(
        `${file}:${line}:\\d+ spec\\.ref\\.branch: branch main differs from ktsw.yaml gitops.branch production`,
      ),
    );
  });
});
