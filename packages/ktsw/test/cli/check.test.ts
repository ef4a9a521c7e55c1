// `ktsw check`, the main job (`npm start`): validate, then render --check, then plan, with one exit code.
// Run as a person runs it, on the example site and on copies broken in each step's own way.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { runCheck } from "../../src/commands/check.ts";
import { loadConfig } from "../../src/config/load.ts";
import { repo, runKtsw, schemaFlags, siteCopy } from "../support/cli.ts";

const invalid = join(import.meta.dirname, "..", "config", "fixtures", "invalid");

describe("ktsw check", () => {
  test("the example site: exit 0, every step reports clean and the plan is printed", async () => {
    const r = await runKtsw(["check", ...schemaFlags()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("✓ ktsw.yaml: valid");
    expect(r.stdout).toMatch(/✓ tree: \d+ Flux Kustomizations, 0 errors/);
    expect(r.stdout).toMatch(/✓ render --check: \d+ files, 0 out of date/);
    expect(r.stdout).toContain("```mermaid");
    expect(r.stderr).not.toContain("✗");
  });

  test("a broken ktsw.yaml: exit 1, every config finding located, no render or plan after it", async () => {
    const bad = join(invalid, "many-mistakes.yaml");
    const r = await runKtsw(["--config", bad, "check", ...schemaFlags()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("many-mistakes.yaml:48:117 nodes[1].addresses.nodes: 10.30.0.5 is not inside VLAN 20");
    expect(r.stdout).not.toContain("render --check");
    expect(r.stdout).not.toContain("```mermaid");
  });

  test("a broken tree: exit 1 with the finding at its file, and check stops before render", async () => {
    const site = siteCopy();
    try {
      // A dependsOn on a Kustomization nobody defines is a graph error only the tree check sees.
      const layers = join(site.root, "kubernetes/clusters/homelab/layers/security.yaml");
      const text = readFileSync(layers, "utf8");
      expect(text).toMatch(/- name: networking\b/);
      writeFileSync(layers, text.replace(/- name: networking\b/, "- name: netwroking"));
      const r = await runKtsw(["--config", site.config, "check", ...schemaFlags()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/kubernetes\/clusters\/homelab\/layers\/security\.yaml:\d+:\d+ .*netwroking/);
      expect(r.stdout).not.toContain("render --check");
    } finally {
      site.remove();
    }
  });

  test("a stale rendered file: exit 1 naming it, and the plan is still printed", async () => {
    const site = siteCopy();
    try {
      const settings = "kubernetes/clusters/homelab/cluster-settings.yaml";
      const yaml = readFileSync(site.config, "utf8");
      expect(yaml).toContain("10.40.0.100");
      // The ingress VIP moves in ktsw.yaml only: the committed cluster-settings are now stale.
      writeFileSync(site.config, yaml.replaceAll("10.40.0.100", "10.40.0.101"));
      const r = await runKtsw(["--config", site.config, "check", ...schemaFlags()]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toMatch(/✗ render --check: \d+ files, [1-9]\d* out of date/);
      expect(r.stderr).toContain(`stale   ${settings}`);
      expect(r.stdout).toContain("```mermaid");
    } finally {
      site.remove();
    }
  });

  test("reads ktsw.yaml once for all three steps", async () => {
    const reads: string[] = [];
    const countingLoad = (file: string) => {
      reads.push(file);
      return loadConfig(file);
    };
    const config = join(repo, "ktsw.yaml");
    const [, crds, , k8sSchemas] = schemaFlags();
    // Policies off: this test is about the reads, and the other tests run the full check.
    const copts = { tree: "kubernetes", policies: false, schemas: crds, k8sSchemas };
    const stderr = process.stderr.write;
    const stdout = process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      expect(await runCheck({ config }, copts, countingLoad)).toBe(0);
    } finally {
      process.stderr.write = stderr;
      process.stdout.write = stdout;
    }
    expect(reads).toEqual([config]);
  });
});
