// Each fixture under fixtures/<rule>/ is a small Flux tree with one deliberate mistake, marked by a
// `# mistake` comment on the line the finding must point at. The real kubernetes/ tree must pass.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import { loadConfig } from "../../src/config/load.ts";
import { findTool } from "../../src/tools/find.ts";
import { defaultChartsDir, defaultSchemaSources, validateTree } from "../../src/validate/index.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const fixtures = join(import.meta.dirname, "fixtures");
const k8sVersion = "v1.33.5+k3s1";
const schemas = (root: string) => ({
  ...defaultSchemaSources(repo, undefined, undefined, k8sVersion),
  cacheDir: join(root, ".cache"),
});

if (!findTool("kustomize"))
  console.warn("kustomize missing: run `bash scripts/install-deps.sh`; these tests will fail");

async function validateFixture(name: string) {
  const root = join(fixtures, name);
  return validateTree({
    root,
    treeDir: "kubernetes",
    clusterPath: "./kubernetes/clusters/test",
    k8sVersion,
    schemas: schemas(root),
    policies: false,
  });
}

/** File (relative to the fixture) and 1-based line of the `# mistake` marker. */
function marker(name: string): { file: string; line: number } | undefined {
  const root = join(fixtures, name);
  for (const entry of readdirSync(join(root, "kubernetes"), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath ?? entry.path, entry.name);
    const lines = readFileSync(file, "utf8").split("\n");
    const i = lines.findIndex((l) => l.includes("# mistake"));
    if (i >= 0) return { file: file.slice(root.length + 1), line: i + 1 };
  }
  return undefined;
}

describe("ktsw validate: one fixture per rule, the finding points at the mistake", () => {
  const cases: [string, string][] = [
    ["yaml", "yaml.parse"],
    ["substitution", "flux.substitute"],
    ["schema", "schema"],
    ["unknown-kind", "schema"],
    ["depends-on", "flux.depends-on"],
    ["cycle", "flux.depends-on-cycle"],
    ["path", "flux.path"],
    ["source-ref", "flux.source-ref"],
    ["namespace", "flux.namespace"],
    ["pins", "pins"],
    ["secrets", "secrets.sops"],
    ["substitute-from", "flux.substitute-from"],
    ["duplicate", "flux.duplicate"],
    ["external", "pins"],
    ["target-namespace", "flux.namespace"],
    ["deadlock", "flux.deadlock"],
    ["decryption", "secrets.decryption"],
    ["storage-class", "storage.class"],
    ["remediation", "flux.remediation"],
  ];
  test.each(cases)("%s -> %s", async (name, rule) => {
    const report = await validateFixture(name);
    const expected = marker(name);
    expect(expected, `fixture ${name} has a # mistake marker`).toBeDefined();
    const hits = report.findings.filter((f) => f.rule === rule);
    expect(hits.map((f) => `${f.file}:${f.line}`)).toContain(`${expected?.file}:${expected?.line}`);
    expect(hits.every((f) => f.severity === "error")).toBe(true);
  });

  test("external: a Kustomization reading an upstream source is listed, not built, and its path not checked", async () => {
    const report = await validateFixture("external");
    const upstream = report.kustomizations.find((k) => k.name === "upstream-manifests");
    expect(upstream?.external).toBe("GitRepository/flux-system/upstream");
    expect(report.findings.filter((f) => f.rule === "flux.path" || f.rule === "flux.build")).toEqual([]);
  });

  test("Flux fields (targetNamespace, images, patches) are applied to the build, as kustomize-controller does", async () => {
    const root = join(fixtures, "flux-fields");
    const { readSourceTree, indexSources } = await import("../../src/validate/sources.ts");
    const { walkFluxGraph } = await import("../../src/validate/walk.ts");
    const tree = await readSourceTree(root, "kubernetes");
    const walk = await walkFluxGraph(root, "./kubernetes/clusters/test", tree, indexSources(tree.docs));
    const deployment = walk.objects.find((a) => a.object.kind === "Deployment")?.object as {
      metadata: { namespace: string };
      spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
    };
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.template.spec.containers[0]?.image).toBe("nginx:1.27.1");
    expect(deployment.metadata.namespace).toBe("demo");
    expect((await validateFixture("flux-fields")).findings).toEqual([]);
  });

  test("a folder without kustomization.yaml builds from every manifest in it, as Flux generates one", async () => {
    const report = await validateFixture("generated");
    expect(report.findings).toEqual([]);
    expect(report.kustomizations.find((k) => k.name === "demo")?.objects).toBe(2);
  });

  test("headers: a file without its schema header is a warning at line 1, not an error", async () => {
    const report = await validateFixture("headers");
    const expected = marker("headers");
    const hits = report.findings.filter((f) => f.rule === "yaml.schema-header");
    expect(hits.map((f) => `${f.file}:${f.line}:${f.severity}`)).toEqual([
      `${expected?.file}:${expected?.line}:warning`,
    ]);
  });

  test("build: a kustomization.yaml naming a missing file fails at the Flux Kustomization's path", async () => {
    const report = await validateFixture("build");
    const finding = report.findings.find((f) => f.rule === "flux.build");
    expect(finding?.file).toBe("kubernetes/clusters/test/apps.yaml");
    const text = readFileSync(join(fixtures, "build", "kubernetes/clusters/test/apps.yaml"), "utf8").split("\n");
    expect(text[(finding?.line ?? 0) - 1]).toMatch(/^\s*path:/);
    expect(finding?.message).toMatch(/service\.yaml/);
    const line = report.kustomizations.find((k) => k.name === "demo");
    expect(line?.errors).toBeGreaterThan(0);
  });

  test("the valid fixture has no findings, and every Kustomization is reported with its objects", async () => {
    const report = await validateFixture("valid");
    expect(report.findings).toEqual([]);
    expect(report.kustomizations.map((k) => k.name).sort()).toEqual(["demo", "flux-system"]);
    expect(report.kustomizations.find((k) => k.name === "demo")?.objects).toBe(2);
  });
});

describe("the real tree", () => {
  test("kubernetes/ validates with no errors, policies included", async () => {
    const { config } = await loadConfig(join(repo, "ktsw.yaml"));
    expect(config).toBeDefined();
    const report = await validateTree({
      root: repo,
      treeDir: "kubernetes",
      clusterPath: config?.gitops.path ?? "",
      k8sVersion: config?.kubernetes.k3sVersion ?? k8sVersion,
      schemas: defaultSchemaSources(repo, undefined, undefined, config?.kubernetes.k3sVersion),
      // As `ktsw validate` does: the charts' CRDs are the schemas of their kinds (the ObjectStore of
      // barman-cloud's chart is in no catalog).
      ...chartsOption(),
    });
    expect(report.findings.filter((f) => f.severity === "error")).toEqual([]);
    const names = report.kustomizations.map((k) => k.name);
    for (const layer of [
      "networking",
      "security",
      "platform",
      "observability",
      "data",
      "apps",
      "cilium",
      "metallb",
      "metallb-config",
      "cert-manager",
      "cert-manager-config",
    ]) {
      expect(names).toContain(layer);
    }
  });
});

describe("the layers", () => {
  test("six layers, each waiting for all it applies and depending on the one before", async () => {
    const { parseAllDocuments } = await import("yaml");
    const order = ["networking", "security", "platform", "observability", "data", "apps"];
    for (const [i, layer] of order.entries()) {
      const text = readFileSync(join(repo, "kubernetes/clusters/homelab/layers", `${layer}.yaml`), "utf8");
      const ks = parseAllDocuments(text)[0]?.toJS() as { metadata: { name: string }; spec: Record<string, unknown> };
      expect(ks.metadata.name).toBe(layer);
      expect(ks.spec.wait).toBe(true);
      const deps = ((ks.spec.dependsOn ?? []) as { name: string }[]).map((d) => d.name);
      expect(deps).toEqual(i === 0 ? [] : [order[i - 1]]);
    }
  });
});

/** The offline chart cache, when there is one (else the charts are not rendered, and their kinds unknown). */
function chartsOption(): { chartsDir?: string } {
  const chartsDir = defaultChartsDir(repo);
  if (!chartsDir) console.warn("no offline chart cache beside the repository: charts are not rendered");
  return chartsDir ? { chartsDir } : {};
}

/**
 * Validates a scratch copy of `root`'s kubernetes/ tree after `edit` changed it (it gets the copy's
 * root); the copy is removed afterwards, so no other test sees the change.
 */
async function validateEditedCopy(
  root: string,
  clusterPath: string,
  edit: (work: string) => void,
  opts: { policies?: boolean; chartsDir?: string } = {},
) {
  const work = mkdtempSync(join(tmpdir(), "ktsw-tree-"));
  try {
    cpSync(join(root, "kubernetes"), join(work, "kubernetes"), { recursive: true });
    edit(work);
    return await validateTree({
      root: work,
      treeDir: "kubernetes",
      clusterPath,
      k8sVersion,
      schemas: schemas(work),
      ...opts,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Replaces `from`, which must be there, in a file. */
function replaceIn(file: string, from: string, to: string): void {
  const text = readFileSync(file, "utf8");
  expect(text, file).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

/**
 * Validates the real tree with an optional Kustomization switched on as its README says: the patch of its
 * layer index that deletes it dropped.
 */
async function validateSwitchedOn(layer: string, kustomization: string) {
  return validateEditedCopy(
    repo,
    "./kubernetes/clusters/homelab",
    (work) => {
      const index = join(work, "kubernetes", layer, "kustomization.yaml");
      const parsed = parse(readFileSync(index, "utf8")) as { patches?: { target?: { name?: string } }[] };
      expect(
        parsed.patches?.some((p) => p.target?.name === kustomization),
        `${layer} deletes ${kustomization}`,
      ).toBe(true);
      parsed.patches = parsed.patches?.filter((p) => p.target?.name !== kustomization);
      writeFileSync(index, stringify(parsed));
    },
    chartsOption(),
  );
}

describe("the optional Kustomizations, switched on", () => {
  test.each([
    ["the ACME issuer", "security", "cert-manager-acme", 3],
    ["the point-in-time recovery of task-db", "apps", "task-processor-recovery", 2],
  ])(
    "%s (its delete patch removed from the %s layer): the tree still validates and %s applies %i objects",
    async (_, layer, name, objects) => {
      const report = await validateSwitchedOn(layer, name);
      expect(report.findings.filter((f) => f.severity === "error")).toEqual([]);
      expect(report.kustomizations.find((k) => k.name === name)?.objects).toBe(objects);
    },
  );
});

describe("policies run on the tree's plain objects", () => {
  test("a namespace that drops its mesh annotation is reported by Gatekeeper's engine at that file", async () => {
    const file = "kubernetes/security/cert-manager/app/namespace.yaml";
    const report = await validateEditedCopy(repo, "./kubernetes/clusters/homelab", (work) =>
      replaceIn(join(work, file), "linkerd.io/inject: enabled", "example.com/owner: nobody"),
    );
    const hits = report.findings.filter((f) => f.rule.startsWith("policy.") && f.file === file);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.some((f) => f.message.includes("linkerd.io/inject"))).toBe(true);
    // The copy is validated without a chart cache: the note says the charts were not rendered.
    expect(report.notes.join("\n")).toMatch(/policies: \d+ plain objects and 0 objects rendered from charts/);
  });
});

describe("Flux postBuild on the graph, as kustomize-controller decides it", () => {
  /** The substitution findings of the substitution fixture after `edit` (given the copy's tree). */
  async function substitutionVariant(edit: (file: (name: string) => string) => void) {
    const report = await validateEditedCopy(
      join(fixtures, "substitution"),
      "./kubernetes/clusters/test",
      (work) => edit((name) => join(work, "kubernetes", name)),
      { policies: false },
    );
    return report.findings.filter((f) => f.rule === "flux.substitute");
  }

  test("a variable name Flux refuses fails the Kustomization, reported at its definition", async () => {
    const findings = await substitutionVariant((file) => {
      replaceIn(
        file("clusters/test/settings.yaml"),
        "  APP_HOST: demo.example",
        "  APP_HOST: demo.example\n  app-host: x",
      );
    });
    const invalid = findings.filter((f) => f.message.includes('variable name "app-host" is invalid'));
    expect(invalid.map((f) => `${f.file}:${f.line}:${f.col}`)).toEqual(["kubernetes/clusters/test/settings.yaml:9:3"]);
  });

  test("postBuild with no variable at all: Flux skips substitution, unless substituteStrategy is Always", async () => {
    const noVariables = (file: (name: string) => string) =>
      replaceIn(file("clusters/test/apps.yaml"), "name: cluster-settings", "name: absent\n        optional: true");
    const skipped = await substitutionVariant(noVariables);
    expect(skipped.map((f) => f.message)).toEqual([
      "${APP_HOSTNAME} is used but Flux Kustomization flux-system/demo defines no postBuild variable, so Flux skips substitution (unless substituteStrategy: Always): it would be applied literally",
    ]);
    const always = await substitutionVariant((file) => {
      noVariables(file);
      replaceIn(file("clusters/test/apps.yaml"), "  postBuild:\n", "  postBuild:\n    substituteStrategy: Always\n");
    });
    expect(always.map((f) => f.message)).toEqual([
      "undefined variable ${APP_HOSTNAME}: not in postBuild.substitute nor any substituteFrom of flux-system/demo",
    ]);
  });
});
