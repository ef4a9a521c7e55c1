// The tree's policy check on objects rendered from a chart: a violation points at the HelmRelease
// that renders the object, and locating it (which needs the YAML syntax tree of the HelmRelease's
// file) happens only for a violation, never for objects that pass.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { LineCounter, parseDocument } from "yaml";
import { policyInputsFromFiles } from "../../src/policy/inputs.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { runPolicies } from "../../src/validate/policy-check.ts";
import type { SourceDoc } from "../../src/validate/sources.ts";
import type { AppliedObject } from "../../src/validate/walk.ts";
import { fixturesDir, repoRoot } from "../policy/paths.ts";

const gator = findTool("gator");
if (!gator) console.warn(`SKIPPING the tree's policy check tests: ${missingToolMessage("gator")}`);

const siteVars = { SITE_DOMAIN: "home.example" };
const helmRelease =
  "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  chart:\n    spec:\n      chart: app\n";

/** The HelmRelease's document, counting how often its syntax tree is asked for. */
function countedSource(): { src: SourceDoc; reads: () => number } {
  const lines = new LineCounter();
  const doc = parseDocument(helmRelease, { lineCounter: lines });
  let reads = 0;
  const src: SourceDoc = {
    file: "apps/app/helmrelease.yaml",
    get doc() {
      reads++;
      return doc;
    },
    lines,
    object: doc.toJS() as Record<string, unknown>,
    line: 1,
    col: 1,
  };
  return { src, reads: () => reads };
}

const rendered = (fixture: string, src: SourceDoc): AppliedObject[] =>
  policyInputsFromFiles([join(fixturesDir, fixture)]).map((i) => ({
    object: i.object as AppliedObject["object"],
    owner: "flux-system/apps",
    source: src,
    chart: { release: "apps/app", chart: "app", version: "1.0.0" },
  }));

describe.skipIf(!gator)("policies on chart-rendered objects", () => {
  test("objects that pass never make the HelmRelease's syntax tree", async () => {
    const { src, reads } = countedSource();
    const outcome = await runPolicies(repoRoot, rendered("good-app.yaml", src), siteVars);
    expect(outcome.findings).toEqual([]);
    expect(outcome.checked).toBeGreaterThan(0);
    expect(reads()).toBe(0);
  });

  test("a violation points at the HelmRelease's spec.chart and names the chart", async () => {
    const { src, reads } = countedSource();
    const outcome = await runPolicies(repoRoot, rendered("bad-deployment.yaml", src), siteVars);
    expect(outcome.findings.length).toBeGreaterThan(0);
    const chartLine = helmRelease.split("\n").indexOf("  chart:") + 1;
    for (const f of outcome.findings) {
      expect(f.file).toBe("apps/app/helmrelease.yaml");
      expect(f.line).toBe(chartLine);
      expect(f.message).toContain("chart app 1.0.0 of HelmRelease apps/app");
    }
    expect(reads()).toBeGreaterThan(0);
  });
});
