// The command as a person runs it: each test validates its own copy of the real repository's site
// (ktsw.yaml, .sops.yaml, the kubernetes/ tree) through the CLI (text and JSON), after breaking one
// thing in that copy; copies are removed after each test, so tests run alone and in any order.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { runKtsw, schemaFlags, siteCopy } from "../support/cli.ts";

const copies: (() => void)[] = [];
function repoCopy(): string {
  const site = siteCopy();
  copies.push(site.remove);
  return site.root;
}
afterEach(() => {
  for (const remove of copies.splice(0)) remove();
});

/** Replaces `from` (which must be there) in a file of the copy. */
function breakFile(work: string, file: string, from: string, to: string): void {
  const text = readFileSync(join(work, file), "utf8");
  expect(text, `${file} contains ${from}`).toContain(from);
  writeFileSync(join(work, file), text.replace(from, to));
}

const ktsw = (work: string, ...args: string[]) => runKtsw(["-c", join(work, "ktsw.yaml"), ...args, ...schemaFlags()]);

describe("ktsw validate (CLI)", () => {
  test("the real tree: exit 0, one ✓ line per Flux Kustomization, JSON says ok", async () => {
    const work = repoCopy();
    const text = await ktsw(work, "validate");
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /✓ flux-system\/metallb-config {2}\.\/kubernetes\/networking\/metallb\/config {2}\(4 objects\)/,
    );
    // A copy elsewhere has no chart cache beside it: its charts are named as not rendered.
    expect(text.stdout).toMatch(/charts: \d+ HelmReleases not rendered \(no chart cache\)/);
    const json = await ktsw(work, "validate", "--format", "json");
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { ok: boolean; kustomizations: { name: string; errors: number }[] };
    expect(report.ok).toBe(true);
    expect(report.kustomizations.length).toBeGreaterThanOrEqual(11);
    expect(report.kustomizations.every((k) => k.errors === 0)).toBe(true);
  });

  test("a misspelt variable: exit 1, ✗ on its Kustomization, finding at file:line:col of the variable", async () => {
    const work = repoCopy();
    const file = "kubernetes/networking/metallb/config/bgppeer.yaml";
    breakFile(work, file, "peerASN: ${ROUTER_ASN}", "peerASN: ${ROUTER_AS}");
    const lines = readFileSync(join(work, file), "utf8").split("\n");
    const line = lines.findIndex((l) => l.includes("${ROUTER_AS}")) + 1;
    const col = (lines[line - 1] ?? "").indexOf("${ROUTER_AS}") + 1;
    const res = await ktsw(work, "validate");
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/✗ flux-system\/metallb-config/);
    expect(res.stderr).toContain(`${file}:${line}:${col} undefined variable \${ROUTER_AS}`);
  });

  test("ktsw.yaml and the Flux entry point disagree on the branch: reported at flux-system.yaml", async () => {
    const work = repoCopy();
    breakFile(work, "ktsw.yaml", "  branch: main", "  branch: production");
    const file = "kubernetes/clusters/homelab/flux-system.yaml";
    const line =
      readFileSync(join(work, file), "utf8")
        .split("\n")
        .findIndex((l) => l.includes("branch: main")) + 1;
    const res = await ktsw(work, "validate");
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      new RegExp(
        `${file}:${line}:\\d+ spec\\.ref\\.branch: branch main differs from ktsw.yaml gitops.branch production`,
      ),
    );
  });

  test("without .sops.yaml: exit 1, the same finding `ktsw secrets check` gives", async () => {
    const work = repoCopy();
    rmSync(join(work, ".sops.yaml"));
    const res = await ktsw(work, "validate");
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/✗ \.sops\.yaml missing: .*`ktsw secrets init`/);
  });
});
