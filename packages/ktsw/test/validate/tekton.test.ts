// The tree's Tekton objects (apps/task-processor/ci) checked by Tekton itself: tekton-validate
// (deps/sim/tekton-validate) decodes each one strictly into Tekton v1.9.1's Go types, defaults it and calls
// its Validate, as Tekton's admission webhook does, with the feature flags and defaults of the ConfigMaps the
// tree's chart renders. A typo in a parameter reference or a field name fails here instead of at the first
// PipelineRun on a cluster.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import { findTool, missingToolMessage, simBuildStep, simToolFile } from "../../src/tools/find.ts";
import { get, nameOf, namespaceOf, type Obj, str } from "../../src/validate/flux.ts";
import type { AppliedObject } from "../../src/validate/walk.ts";
import { appliedTree } from "../support/tree.ts";

const fixtures = resolve(import.meta.dirname, "fixtures/tekton");
const repo = resolve(import.meta.dirname, "../../../..");
const readme = join(repo, "kubernetes/apps/task-processor/README.md");
// The example site's domain, as Flux substitutes it (cluster-settings, rendered from ktsw.yaml).
const siteDomain = /^\s+SITE_DOMAIN: (\S+)$/m.exec(
  readFileSync(join(repo, "kubernetes/clusters/homelab/cluster-settings.yaml"), "utf8"),
)?.[1];
const bin = simToolFile("tekton-validate");
const why = !existsSync(bin)
  ? `tekton-validate not built (looked for ${bin}); build it with ${simBuildStep()}`
  : !findTool("helm")
    ? missingToolMessage("helm")
    : undefined;
if (why) console.warn(`SKIPPING Tekton's own validation of the tree: ${why}`);

const work = mkdtempSync(join(tmpdir(), "ktsw-tekton-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const isTekton = (o: Obj) => (str(o, "apiVersion") ?? "").startsWith("tekton.dev/");

/** The chart's feature-flags and config-defaults ConfigMaps, as the tree renders them: Tekton's webhook reads these. */
function chartConfig(applied: AppliedObject[]): Obj[] {
  return applied
    .map((a) => a.object)
    .filter(
      (o) =>
        o.kind === "ConfigMap" &&
        namespaceOf(o) === "tekton-pipelines" &&
        ["feature-flags", "config-defaults"].includes(nameOf(o) ?? ""),
    );
}

/** Runs tekton-validate on files holding these documents; its lines name the file and the object. */
function runValidate(files: Record<string, Obj[]>): { status: number | null; out: string; err: string } {
  const paths = Object.entries(files).map(([name, docs]) => {
    const path = join(work, name);
    writeFileSync(path, docs.map((d) => stringify(d)).join("---\n"));
    return path;
  });
  const r = spawnSync(bin, paths, { encoding: "utf8" });
  return { status: r.status, out: r.stdout.replaceAll(`${work}/`, ""), err: r.stderr };
}

describe.skipIf(why !== undefined)("Tekton's own validation of the tree", () => {
  test("every Tekton object of the tree is admitted, with the feature flags the tree's chart sets", async () => {
    const tree = await appliedTree();
    const config = chartConfig(tree.applied);
    expect(config.map((c) => nameOf(c)).sort()).toEqual(["config-defaults", "feature-flags"]);
    // The flag the validation must honour: only stable fields (helmrelease.yaml says why).
    expect(
      str(
        config.find((c) => nameOf(c) === "feature-flags"),
        "data",
        "enable-api-fields",
      ),
    ).toBe("stable");

    const tekton = tree.applied.filter((a) => isTekton(a.object));
    expect(tekton.map((a) => `${a.object.kind} ${nameOf(a.object)}`).sort()).toEqual([
      "Pipeline task-processor",
      "Task git-clone",
      "Task git-commit-digests",
      "Task kaniko-build",
      "Task npm-test",
      "Task scan-sign",
    ]);
    // One file per source file of the tree, so a finding names where to look.
    const byFile: Record<string, Obj[]> = { "chart-config.yaml": config };
    for (const a of tekton) {
      const file = (a.source?.file ?? "unknown").replaceAll("/", "__");
      byFile[file] = [...(byFile[file] ?? []), a.object];
    }
    const r = runValidate(byFile);
    expect(r.out).toBe("");
    expect(r.err).toContain(`${tekton.length} Tekton objects checked, 0 problems`);
    expect(r.status).toBe(0);
  });

  test("the images Tekton puts into TaskRun pods come through Harbor's proxy cache; no remote resolvers run", async () => {
    const tree = await appliedTree();
    const deployments = tree.applied
      .map((a) => a.object)
      .filter((o) => o.kind === "Deployment" && namespaceOf(o) === "tekton-pipelines");
    expect(deployments.map((d) => nameOf(d)).sort()).toEqual([
      "tekton-events-controller",
      "tekton-pipelines-controller",
      "tekton-pipelines-webhook",
    ]);
    const controller = deployments.find((d) => nameOf(d) === "tekton-pipelines-controller");
    const args = (get(controller, "spec", "template", "spec", "containers", 0, "args") ?? []) as string[];
    const images = Object.fromEntries(args.flatMap((a, i) => (a.endsWith("-image") ? [[a, args[i + 1]]] : [])));
    const harbor = `harbor.${siteDomain}/`;
    for (const flag of [
      "-entrypoint-image",
      "-nop-image",
      "-sidecarlogresults-image",
      "-workingdirinit-image",
      "-shell-image",
    ]) {
      expect(images[flag], flag).toMatch(
        new RegExp(`^${harbor.replaceAll(".", "\\.")}(ghcr|cgr)/.+@sha256:[0-9a-f]{64}$`),
      );
    }
  });

  test("the PipelineRun the task processor's README gives to copy is admitted too", async () => {
    const tree = await appliedTree();
    const blocks = [...readFileSync(readme, "utf8").matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    const runs = blocks.filter((b) => /^kind: PipelineRun$/m.test(b)).map((b) => parse(b) as Obj);
    expect(runs.length).toBe(1);
    const r = runValidate({ "chart-config.yaml": chartConfig(tree.applied), "README-pipelinerun.yaml": runs });
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  });

  test("a misspelled parameter reference in the tree's git-clone Task fails, naming the file, the Task and the step", async () => {
    const tree = await appliedTree();
    const clone = tree.applied.map((a) => a.object).find((o) => isTekton(o) && nameOf(o) === "git-clone");
    expect(clone).toBeDefined();
    const text = JSON.stringify(clone);
    expect(text).toContain("$(params.revision)");
    const typo = JSON.parse(text.replace("$(params.revision)", "$(params.revison)")) as Obj;
    const r = runValidate({ "chart-config.yaml": chartConfig(tree.applied), "git-clone-typo.yaml": [typo] });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(
      /^git-clone-typo\.yaml: Task git-clone: non-existent variable in .*\$\(params\.revison\).*: spec\.steps\[0\]\.script$/m,
    );
  });

  test("a misspelled field is refused by Tekton's strict decoding, which the CRD schema alone lets through", () => {
    const r = spawnSync(bin, [join(fixtures, "unknown-field.yaml")], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      'unknown-field.yaml: Pipeline misspelled-field: error unmarshaling JSON: while decoding JSON: json: unknown field "paramz"',
    );
  });
});
