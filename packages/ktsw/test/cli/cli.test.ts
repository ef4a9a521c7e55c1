// The CLI as a person runs it: a real process, real files, exit codes and output checked.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parseConfig } from "../../src/config/index.ts";

const repo = join(import.meta.dirname, "..", "..", "..", "..");
const cli = join(repo, "packages", "ktsw", "bin", "ktsw.js");
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function ktsw(args: string[], cwd = repo) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ktsw-cli-"));
  temps.push(dir);
  return dir;
}

describe("ktsw CLI", () => {
  test("validate passes on the example and names every problem of a broken config", () => {
    expect(ktsw(["validate"]).code).toBe(0);
    const bad = join(import.meta.dirname, "..", "config", "fixtures", "invalid", "many-mistakes.yaml");
    const r = ktsw(["--config", bad, "validate"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("many-mistakes.yaml:48:117 nodes[1].addresses.nodes: 10.30.0.5 is not inside VLAN 20");
    expect(r.err).toContain("nodes[4].vmid: vmid 211 is already used by nodes[3].vmid");
    expect(r.err).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  });

  test("a YAML syntax error is a located finding, never a stack trace", () => {
    const bad = join(import.meta.dirname, "..", "config", "fixtures", "invalid", "yaml-syntax.yaml");
    const r = ktsw(["--config", bad, "validate"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/yaml-syntax\.yaml:\d+:\d+ YAML syntax:/);
    expect(r.err).not.toContain("Error:");
  });

  test("render --check is clean on the committed tree and catches drift in a copy", () => {
    expect(ktsw(["render", "--check"]).code).toBe(0);
    const dir = tempDir();
    cpSync(join(repo, "ktsw.yaml"), join(dir, "ktsw.yaml"));
    const first = ktsw(["--config", join(dir, "ktsw.yaml"), "render", "--check"]);
    expect(first.code).toBe(1);
    expect(first.err).toContain("missing kubernetes/clusters/homelab/cluster-settings.yaml");
    expect(ktsw(["--config", join(dir, "ktsw.yaml"), "render"]).code).toBe(0);
    expect(ktsw(["--config", join(dir, "ktsw.yaml"), "render", "--check"]).code).toBe(0);
    const settings = join(dir, "kubernetes/clusters/homelab/cluster-settings.yaml");
    writeFileSync(settings, readFileSync(settings, "utf8").replace("10.40.0.100", "10.40.0.101"));
    const stale = ktsw(["--config", join(dir, "ktsw.yaml"), "render", "--check"]);
    expect(stale.code).toBe(1);
    expect(stale.err).toContain("stale   kubernetes/clusters/homelab/cluster-settings.yaml");
  });

  test("plan prints the IP plan, VM totals per host, BGP sessions and a Mermaid topology", () => {
    const r = ktsw(["plan"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("| 20 | nodes | 10.20.0.0/24 |");
    expect(r.out).toContain("### pve1 (10.10.0.11)");
    expect(r.out).toContain("**total (3 VMs)** |  | **14** | **32.0 GiB**");
    expect(r.out).toContain("| cp-1 10.20.0.11 | AS64513 | edge 10.20.0.1 | AS64512 |");
    expect(r.out).toContain("```mermaid");
  });

  test("init writes a starter that validates, and refuses to overwrite", () => {
    const dir = tempDir();
    const target = join(dir, "ktsw.yaml");
    const r = ktsw(["--config", target, "init", "--name", "garage", "--domain", "garage.home.arpa"]);
    expect(r.code).toBe(0);
    const written = parseConfig(readFileSync(target, "utf8"));
    expect(written.findings).toEqual([]);
    expect(written.config?.site).toMatchObject({ name: "garage", domain: "garage.home.arpa" });
    expect(ktsw(["--config", target, "init"]).code).toBe(2);
  });

  test("init rejects answers that would not validate", () => {
    const dir = tempDir();
    const r = ktsw(["--config", join(dir, "ktsw.yaml"), "init", "--name", "Not A Label", "--domain", "x.home.arpa"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("site.name: must be a DNS label");
  });

  test("every verb has --help and an unknown verb is a usage error", () => {
    for (const verb of ["init", "validate", "render", "plan", "diff", "doctor", "check"]) {
      const r = ktsw([verb, "--help"]);
      expect(r.code, verb).toBe(0);
      expect(r.out).toContain(`Usage: ktsw ${verb}`);
    }
    expect(ktsw(["frobnicate"]).code).toBe(2);
    expect(ktsw(["--help"]).out).toContain("Exit codes:");
  });
});
