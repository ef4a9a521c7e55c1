// The build pipeline's scan gate (kubernetes/apps/task-processor/ci/scan/scan-rule.sh, the script the Task
// scan-sign runs) with the real Trivy v0.74.0, offline: Trivy's embedded misconfiguration checks judge the task
// processor's Dockerfile and a root-running variant of it. What Trivy cannot judge offline is the images'
// vulnerabilities (it needs its CVE database, which the cluster pulls through Harbor's proxy cache).
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const ruleDir = join(repo, "kubernetes/apps/task-processor/ci/scan");
const rule = join(ruleDir, "scan-rule.sh");
const rootImage = resolve(import.meta.dirname, "fixtures/trivy/root-image");

const trivy = findTool("trivy");
const version = trivy ? spawnSync(trivy, ["--version"], { encoding: "utf8" }).stdout : "";
const why = !trivy
  ? missingToolMessage("trivy")
  : !/^Version: 0\.74\.0$/m.test(version)
    ? `${trivy} is not Trivy 0.74.0, the release the pipeline runs (${version.split("\n")[0]})`
    : undefined;
if (why) console.warn(`SKIPPING the scan gate with the real Trivy: ${why}`);

const work = mkdtempSync(join(tmpdir(), "ktsw-trivy-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The gate as the Task runs it, offline: the embedded checks only, a cache of its own. */
function gate(script: string, kind: string, target: string) {
  const r = spawnSync("sh", [script, kind, target, "--skip-check-update", `--cache-dir=${join(work, "cache")}`], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${resolve(trivy ?? "", "..")}:${process.env.PATH}` },
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe.skipIf(why !== undefined)("the pipeline's scan gate with the real Trivy", () => {
  test("the task processor's Dockerfile passes: no HIGH or CRITICAL misconfiguration", () => {
    const r = gate(rule, "config", join(repo, "apps/task-processor/Dockerfile"));
    expect(r.out).toContain("scan-rule: PASS");
    expect(r.status).toBe(0);
  });

  test("the task processor's Kubernetes manifests (app, ci, recovery) pass too", () => {
    const r = gate(rule, "config", join(repo, "kubernetes/apps/task-processor"));
    expect(r.out).toContain("scan-rule: PASS");
    expect(r.status).toBe(0);
  });

  test("the same image running as root fails the gate (HIGH: the last USER is root), naming the check", () => {
    const r = gate(rule, "config", rootImage);
    expect(r.out).toContain("DS-0002 (HIGH)");
    expect(r.out).toContain("scan-rule: FAIL");
    expect(r.status).toBe(1);
  });

  test("a waiver with its reason in the ignore file beside the rule lets that finding through, and nothing else", () => {
    const dir = mkdtempSync(join(work, "waived-"));
    copyFileSync(rule, join(dir, "scan-rule.sh"));
    writeFileSync(
      join(dir, "trivyignore.yaml"),
      [
        "misconfigurations:",
        "  - id: DS-0002",
        "    statement: test only, the image is never run",
        "    expired_at: 2099-01-01",
        "",
      ].join("\n"),
    );
    const r = gate(join(dir, "scan-rule.sh"), "config", rootImage);
    expect(r.out).toContain("scan-rule: PASS");
    expect(r.status).toBe(0);
  });

  test("when Trivy cannot judge (no such target) the gate says so and exits 2, neither pass nor finding", () => {
    const r = gate(rule, "config", join(work, "does-not-exist"));
    expect(r.out).toContain("scan-rule: ERROR");
    expect(r.status).toBe(2);
  });

  test("a kind the gate does not know is a usage error", () => {
    const r = gate(rule, "kubernetes", repo);
    expect(r.out).toContain("KIND must be image, sbom, fs or config, not 'kubernetes'");
    expect(r.status).toBe(2);
  });
});
