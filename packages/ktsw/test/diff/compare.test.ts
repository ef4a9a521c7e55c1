// Two sites compared as pure data: what counts as a difference (not key order), how Secrets and
// SOPS files are shown (never their values), in which order layers come, and the Markdown comment.
import { describe, expect, test } from "vitest";
import { compareSites, countChanges } from "../../src/diff/compare.ts";
import { formatMarkdown, formatText, MARKDOWN_BUDGET } from "../../src/diff/format.ts";
import type { Placement, Site, SiteObject } from "../../src/diff/site.ts";
import type { Obj } from "../../src/validate/flux.ts";

const heading = { ref: "main", commit: "0123456789ab", seconds: 1.5 };

function placed(object: Obj, p: Partial<Placement> = {}): SiteObject {
  const placement = { layer: "apps", kustomization: "flux-system/app", path: "kubernetes/apps/app", rank: 2, ...p };
  const meta = object.metadata as Obj;
  const label = `${String(object.kind)} ${meta.namespace ? `${String(meta.namespace)}/` : ""}${String(meta.name)}`;
  return { key: `${placement.kustomization}|${label}`, label, placement, object };
}

const configMap = (data: Obj, extra: Obj = {}): Obj => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "settings", namespace: "app", ...extra },
  data,
});

const site = (objects: SiteObject[], artifacts: Record<string, string> = {}): Site => ({ artifacts, objects });

describe("compareSites", () => {
  test("the same object with its keys in another order is no difference", () => {
    const a = configMap({ a: "1", b: "2" }, { labels: { x: "1", y: "2" } });
    const b: Obj = {
      data: { b: "2", a: "1" },
      metadata: { labels: { y: "2", x: "1" }, namespace: "app", name: "settings" },
      kind: "ConfigMap",
      apiVersion: "v1",
    };
    expect(compareSites(site([placed(a)]), site([placed(b)]))).toEqual({ layers: [], withheld: [] });
    // Added, it prints as kubectl would: apiVersion, kind, metadata, then the rest, every map sorted.
    const added = compareSites(site([]), site([placed(b)])).layers[0]?.groups[0]?.entries[0]?.diff ?? "";
    expect(added.split("\n").slice(3, -1)).toEqual([
      "+apiVersion: v1",
      "+kind: ConfigMap",
      "+metadata:",
      "+  labels:",
      '+    x: "1"',
      '+    y: "2"',
      "+  name: settings",
      "+  namespace: app",
      "+data:",
      '+  a: "1"',
      '+  b: "2"',
    ]);
  });

  test("a changed value is a diff of the object's YAML: the changed line with its context", () => {
    const [layer] = compareSites(site([placed(configMap({ a: "1" }))]), site([placed(configMap({ a: "2" }))])).layers;
    const entry = layer?.groups[0]?.entries[0];
    expect(entry?.change).toBe("changed");
    expect(entry?.diff).toBe(
      [
        "--- a/ConfigMap app/settings",
        "+++ b/ConfigMap app/settings",
        "@@ -4,4 +4,4 @@",
        "   name: settings",
        "   namespace: app",
        " data:",
        '-  a: "1"',
        '+  a: "2"',
        "",
      ].join("\n"),
    );
  });

  test("a Secret, or any SOPS-encrypted object, says it changed and shows no value, not even ciphertext", () => {
    const secret = (v: string): Obj => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "app" },
      stringData: { password: v },
    });
    const sops = (v: string): Obj => ({ ...configMap({ token: `ENC[AES256_GCM,data:${v}]` }), sops: { mac: v } });
    const diff = compareSites(
      site([placed(secret("old-password")), placed(sops("abc"))]),
      site([placed(secret("new-password")), placed(sops("def"))]),
    );
    const entries = diff.layers[0]?.groups[0]?.entries ?? [];
    expect(entries.map((e) => [e.change, e.secret, e.diff])).toEqual([
      ["changed", true, ""],
      ["changed", true, ""],
    ]);
    for (const out of [formatText(diff, heading), formatMarkdown(diff, heading)]) {
      expect(out).toContain("Secret: changed, values not shown");
      for (const value of ["old-password", "new-password", "abc", "def"]) expect(out).not.toContain(value);
    }
  });

  test("a SOPS-encrypted rendered file says it changed and shows nothing of it", () => {
    const file = (v: string) => `data:\n  key: ENC[AES256_GCM,data:${v}]\nsops:\n  mac: ${v}\n`;
    const { layers } = compareSites(
      site([], { "secrets/x.sops.yaml": file("one") }),
      site([], { "secrets/x.sops.yaml": file("two") }),
    );
    expect(layers[0]?.groups[0]?.entries[0]).toMatchObject({ change: "changed", secret: true, diff: "" });
  });

  test("rendered files first, then the tree's layers in rollout order, Kustomizations in rollout order", () => {
    const obj = (name: string) => configMap({ v: name }, { name });
    const before = site([], { "infrastructure/router/frr.conf": "hostname edge\n" });
    const after = site(
      [
        placed(obj("late"), { layer: "apps", kustomization: "flux-system/b", rank: 5 }),
        placed(obj("early"), { layer: "networking", kustomization: "flux-system/n", rank: 1 }),
        placed(obj("mid"), { layer: "apps", kustomization: "flux-system/a", rank: 3 }),
      ],
      { "infrastructure/router/frr.conf": "hostname edge-2\n" },
    );
    const { layers } = compareSites(before, after);
    expect(layers.map((l) => l.name)).toEqual(["infrastructure", "networking", "apps"]);
    expect(layers[2]?.groups.map((g) => g.title)).toEqual([
      "Kustomization flux-system/a",
      "Kustomization flux-system/b",
    ]);
    expect(countChanges(layers)).toEqual({ added: 3, removed: 0, changed: 1 });
  });

  test("an object moved to another Kustomization is removed from one and added to the other, as Flux prunes and applies it", () => {
    const o = configMap({ a: "1" });
    const { layers } = compareSites(
      site([placed(o, { kustomization: "flux-system/old" })]),
      site([placed(o, { kustomization: "flux-system/new" })]),
    );
    expect(countChanges(layers)).toEqual({ added: 1, removed: 1, changed: 0 });
  });
});

describe("a chart that rendered, or a Kustomization that built, on one side only", () => {
  const chart = { release: "gatekeeper-system/gatekeeper", chart: "gatekeeper", version: "3.23.0" };
  const rendered = (name: string): SiteObject => ({ ...placed(configMap({}, { name })), chart });

  test("its objects are left out, not shown as added, and the report says so", () => {
    const before: Site = { ...site([placed(configMap({ a: "1" }))]), failed: [`HelmRelease ${chart.release}`] };
    const after = site([placed(configMap({ a: "2" })), rendered("one"), rendered("two")]);
    const diff = compareSites(before, after);
    expect(diff.withheld).toEqual([{ producer: `HelmRelease ${chart.release}`, missingAt: "before", objects: 2 }]);
    expect(countChanges(diff.layers)).toEqual({ added: 0, removed: 0, changed: 1 });
    expect(formatText(diff, heading)).toContain(
      "! not compared: HelmRelease gatekeeper-system/gatekeeper did not render at main, so its 2 objects at the working tree are left out",
    );
    expect(formatMarkdown(diff, heading)).toContain("> ⚠ not compared: HelmRelease gatekeeper-system/gatekeeper");
  });

  test("a Kustomization that did not build in the working tree: its objects at the ref are left out, not removed", () => {
    const diff = compareSites(site([placed(configMap({ a: "1" }))]), {
      ...site([]),
      failed: ["Kustomization flux-system/app"],
    });
    expect(diff).toEqual({
      layers: [],
      withheld: [{ producer: "Kustomization flux-system/app", missingAt: "after", objects: 1 }],
    });
    expect(formatText(diff, heading)).toContain(
      "! not compared: Kustomization flux-system/app did not build at the working tree, so its 1 object at main is left out",
    );
  });

  test("a chart that rendered on neither side, or a HelmRelease that is new, is not withheld", () => {
    const failed = [`HelmRelease ${chart.release}`];
    const neither = compareSites({ ...site([]), failed }, { ...site([]), failed });
    expect(neither.withheld).toEqual([]);
    const added = compareSites(site([]), site([rendered("one")]));
    expect(added.withheld).toEqual([]);
    expect(countChanges(added.layers)).toEqual({ added: 1, removed: 0, changed: 0 });
  });
});

describe("formatMarkdown", () => {
  test("nothing differs: one line saying so", () => {
    expect(formatMarkdown({ layers: [], withheld: [] }, heading)).toBe(
      "### `ktsw diff main` (0123456789ab) → this change: no differences\n\nNothing differs: every rendered file and every object is the same.\n",
    );
  });

  test("a count table per layer, then each object collapsible with a diff block", () => {
    const layers = compareSites(site([placed(configMap({ a: "1" }))]), site([placed(configMap({ a: "2" }))]));
    const md = formatMarkdown(layers, heading);
    expect(md).toContain("| apps | 0 | 0 | 1 |\n| **total** | **0** | **0** | **1** |");
    expect(md).toContain("**Kustomization flux-system/app** `./kubernetes/apps/app`");
    expect(md).toMatch(
      /<details><summary>~ changed <code>ConfigMap app\/settings<\/code><\/summary>\n\n```diff\n--- a\//,
    );
  });

  test("a diff with its own code fences is wrapped in a longer fence", () => {
    const layers = compareSites(site([], { "README.md": "a\n" }), site([], { "README.md": "```sh\nrun\n```\n" }));
    expect(formatMarkdown(layers, heading)).toContain("````diff\n");
  });

  test("past the comment budget, diffs are withheld and counted, never cut mid-block", () => {
    const big = (v: string) =>
      Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`key${i}`, `${v}-${"x".repeat(40)}`]));
    const names = Array.from({ length: 12 }, (_, i) => `cm${i}`);
    const side = (v: string) => site(names.map((n) => placed(configMap(big(v), { name: n }))));
    const md = formatMarkdown(compareSites(side("old"), side("new")), heading);
    expect(md.length).toBeLessThan(MARKDOWN_BUDGET + 5_000);
    expect(md).toMatch(/\d+ diffs withheld to keep the comment short: run `ktsw diff main` locally/);
    expect(md.match(/```diff/g)?.length).toBe(md.match(/\n```\n/g)?.length);
  });
});
