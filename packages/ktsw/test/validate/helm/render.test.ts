// HelmReleases rendered offline the way helm-controller would, on a fixture tree with a chart of the
// tests' own (fixtures/helm/chart/probe, packaged at run time into a throwaway Helm repository):
// release name and namespace, valuesFrom under values, targetPath, the HelmRelease's own postBuild
// substitution, postRenderers, commonMetadata, the chart's CRD and API versions, a missing pin.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../../src/config/load.ts";
import { findTool, missingToolMessage } from "../../../src/tools/find.ts";
import { get, nameOf, type Obj } from "../../../src/validate/flux.ts";
import { renderHelmReleases } from "../../../src/validate/helm/index.ts";
import { defaultChartsDir, defaultSchemaSources, validateTree } from "../../../src/validate/index.ts";
import { indexSources, readSourceTree } from "../../../src/validate/sources.ts";
import { walkFluxGraph } from "../../../src/validate/walk.ts";

const repo = resolve(import.meta.dirname, "../../../../..");
const fixture = join(import.meta.dirname, "../fixtures/helm");
const k8sVersion = "v1.33.5+k3s1";
const helm = findTool("helm");
if (!helm) console.warn(`SKIPPING HelmRelease rendering tests: ${missingToolMessage("helm")}`);

let work = "";
let charts = "";

/** A Helm repository made from the chart's plain files with the real helm (package + repo index). */
function makeChartRepository(dir: string): void {
  execFileSync(helm as string, ["package", join(fixture, "chart", "probe"), "--destination", dir], { stdio: "pipe" });
  execFileSync(helm as string, ["repo", "index", dir], { stdio: "pipe" });
}

// sops finds the age key here, as `ktsw secrets` does; the fixture's Secret is encrypted to the example key.
const exampleKey = join(repo, "test-support/example-age.key");
const keyBefore = process.env.SOPS_AGE_KEY_FILE;
const restoreKey = () => {
  if (keyBefore === undefined) delete process.env.SOPS_AGE_KEY_FILE;
  else process.env.SOPS_AGE_KEY_FILE = keyBefore;
};

beforeAll(() => {
  process.env.SOPS_AGE_KEY_FILE = exampleKey;
  if (!helm) return;
  work = mkdtempSync(join(tmpdir(), "ktsw-helm-"));
  charts = join(work, "charts");
  cpSync(join(fixture, "kubernetes"), join(work, "kubernetes"), { recursive: true });
  makeChartRepository(charts);
});
afterAll(() => {
  restoreKey();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The fixture copy with `edit` applied to one file; restored afterwards. */
async function withEdit<T>(file: string, from: string, to: string, run: () => Promise<T>): Promise<T> {
  const path = join(work, file);
  const original = readFileSync(path, "utf8");
  expect(original, `${file} contains ${from}`).toContain(from);
  writeFileSync(path, original.replace(from, to));
  try {
    return await run();
  } finally {
    writeFileSync(path, original);
  }
}

async function rendered(cacheDir?: string) {
  const tree = await readSourceTree(work, "kubernetes");
  const walk = await walkFluxGraph(work, "./kubernetes/clusters/test", tree, indexSources(tree.docs));
  return renderHelmReleases(walk.objects, {
    root: work,
    chartsDir: charts,
    kubeVersion: k8sVersion,
    ...(cacheDir ? { cacheDir } : {}),
  });
}

const validate = () =>
  validateTree({
    root: work,
    treeDir: "kubernetes",
    clusterPath: "./kubernetes/clusters/test",
    k8sVersion,
    schemas: { ...defaultSchemaSources(repo, undefined, undefined, k8sVersion), cacheDir: join(work, ".cache") },
    policies: false,
    chartsDir: charts,
  });

const find = (objects: { object: Obj }[], kind: string, name?: string) =>
  objects.find((a) => a.object.kind === kind && (name === undefined || get(a.object, "metadata", "name") === name))
    ?.object;
const env = (deployment: Obj | undefined) =>
  Object.fromEntries(
    (
      (get(deployment, "spec", "template", "spec", "containers", 0, "env") ?? []) as { name: string; value: string }[]
    ).map((e) => [e.name, e.value]),
  );

describe.skipIf(!helm)("HelmRelease rendering (fixture chart)", () => {
  test("release name [targetNamespace-]name, objects in the target namespace, the chart's origin recorded", async () => {
    const out = await rendered();
    const deployment = find(out.objects, "Deployment");
    expect(get(deployment, "metadata", "name")).toBe("probe-target-probe-probe");
    expect(get(deployment, "metadata", "namespace")).toBe("probe-target");
    expect(env(deployment).NAMESPACE).toBe("probe-target");
    expect(out.objects[0]?.chart).toEqual({ release: "probe/probe", chart: "probe", version: "1.2.0" });
  });

  test("values: valuesFrom merged under spec.values, targetPath set, the HelmRelease's postBuild substituted", async () => {
    const deployment = find((await rendered()).objects, "Deployment");
    expect(get(deployment, "spec", "replicas")).toBe(3); // values (3) over the ConfigMap's 2
    expect(env(deployment)).toMatchObject({
      GREETING: "from-configmap",
      TOKEN: "token-from-configmap",
      MOTD: "hello-from-settings",
    });
  });

  test("valuesFrom a SOPS-encrypted Secret: decrypted with the example key, in order, targetPath set, an absent optional key skipped", async () => {
    const out = await rendered();
    const deployment = find(out.objects, "Deployment", "probe-sealed-probe");
    expect(get(deployment, "spec", "replicas")).toBe(3); // spec.values (3) over the Secret's 5
    expect(env(deployment)).toMatchObject({ SECRET_NOTE: "from-sops-secret", SECRET_TOKEN: "token-from-sops-secret" });
    expect(out.findings.filter((f) => f.rule !== "helm.chart-version")).toEqual([]);
  });

  test("decrypted values reach the render cache only sealed, and the sealed render is read back", async () => {
    const cache = join(work, "render-cache");
    try {
      const first = await rendered(cache);
      const entries = () => readdirSync(cache).map((f) => readFileSync(join(cache, f), "latin1"));
      const cached = entries();
      expect(cached.length).toBeGreaterThan(0);
      expect(cached.join("\n")).not.toContain("from-sops-secret");
      const again = await rendered(cache);
      const sealed = (out: typeof first) => env(find(out.objects, "Deployment", "probe-sealed-probe"));
      expect(sealed(again)).toEqual(sealed(first));
      // Read back, not made again: a new seal would differ (each takes a fresh nonce).
      expect(entries()).toEqual(cached);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  test("a SOPS Secret sops cannot decrypt here is a warning at the valuesFrom entry; the chart still renders", async () => {
    process.env.SOPS_AGE_KEY_FILE = join(work, "no-such-key.txt");
    try {
      const out = await rendered();
      const hits = out.findings.filter((f) => f.rule === "helm.values-from");
      expect(hits.map((f) => [f.file, f.severity])).toEqual([
        ["kubernetes/apps/probe/sealed.yaml", "warning"],
        ["kubernetes/apps/probe/sealed.yaml", "warning"],
        ["kubernetes/apps/probe/sealed.yaml", "warning"],
      ]);
      expect(hits[0]?.message).toMatch(
        /^HelmRelease probe\/probe-sealed: valuesFrom Secret\/probe-secret-values is SOPS-encrypted and sops cannot decrypt it here \(.+\): rendered without its values$/,
      );
      expect(env(find(out.objects, "Deployment", "probe-sealed-probe")).SECRET_NOTE).toBe("");
    } finally {
      process.env.SOPS_AGE_KEY_FILE = exampleKey;
    }
  });

  test("spec.chartRef to an OCIRepository renders the chart its URL and tag name from the cache", async () => {
    const out = await rendered();
    expect(get(find(out.objects, "Deployment", "probe-oci-probe"), "spec", "replicas")).toBe(2);
    expect(out.objects.find((a) => a.chart?.release === "probe/probe-oci")?.chart).toEqual({
      release: "probe/probe-oci",
      chart: "probe",
      version: "1.2.0",
    });
  });

  test("a chartRef the cache cannot satisfy is an error at the HelmRelease naming the chart, version, source and versions there", async () => {
    const out = await withEdit("kubernetes/apps/probe/oci.yaml", "tag: 1.2.0", "tag: 1.3.0", rendered);
    const hits = out.findings.filter((f) => f.rule === "helm.chart-version" && f.file.endsWith("oci.yaml"));
    expect(hits.map((f) => [f.severity, f.message])).toEqual([
      [
        "error",
        "HelmRelease probe/probe-oci: chart probe 1.3.0 (from OCIRepository probe/probe-oci) is not in the chart cache charts (versions there: 1.2.0)",
      ],
    ]);
    const text = readFileSync(join(work, "kubernetes/apps/probe/oci.yaml"), "utf8").split("\n");
    expect(hits[0]?.line).toBe(text.findIndex((l) => l.startsWith("  chartRef:")) + 1);
  });

  test("postRenderers patch the output; commonMetadata and origin labels go on each object's own metadata", async () => {
    const deployment = find((await rendered()).objects, "Deployment");
    expect(get(deployment, "metadata", "annotations")).toEqual({ "patched-by": "post-renderer" });
    expect(get(deployment, "metadata", "labels")).toEqual({
      "app.kubernetes.io/name": "probe",
      team: "probe",
      "helm.toolkit.fluxcd.io/name": "probe",
      "helm.toolkit.fluxcd.io/namespace": "probe",
    });
    expect(get(deployment, "spec", "template", "metadata", "labels")).toEqual({ "app.kubernetes.io/name": "probe" });
  });

  test("a Helm hook is applied as the chart wrote it: Helm post-renders the release manifest only", async () => {
    // The same release whose Deployment the test above finds patched and labelled.
    const hook = find((await rendered()).objects, "ConfigMap");
    expect(nameOf(hook as Obj)).toBe("probe-target-probe-hook");
    expect(get(hook, "metadata", "labels")).toEqual({ "app.kubernetes.io/name": "probe" });
    expect(get(hook, "metadata", "annotations")).toEqual({ "helm.sh/hook": "pre-install,pre-upgrade" });
  });

  test("the chart's CRD is installed (install.crds) and its API version advertised, so the chart renders its Widget", async () => {
    const out = await rendered();
    expect(get(find(out.objects, "CustomResourceDefinition"), "metadata", "name")).toBe("widgets.probe.example.com");
    expect(get(find(out.objects, "Widget"), "spec", "size")).toBe(1);
    const skipped = await withEdit("kubernetes/apps/probe/helmrelease.yaml", "crds: Create", "crds: Skip", rendered);
    expect(find(skipped.objects, "CustomResourceDefinition")).toBeUndefined();
    expect(find(skipped.objects, "Widget")).toBeUndefined();
  });

  test("renders are kept by their inputs: the same inputs read back the same objects, other values render anew", async () => {
    const cache = join(work, "render-cache");
    // Beside the renders (named by their key alone), each chart's known values keys (`keys-…`), whether
    // it asks for API versions (`reads-apis-…`) and the index's parse (`index-…`) are kept too.
    const renders = (dir: string) => readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.json$/.test(f));
    try {
      const first = await rendered(cache);
      // Releases probe, probe-oci and probe-sealed (sealed: its values are secret): the first pass and the one with the chart's CRD API.
      expect(renders(cache)).toHaveLength(6);
      expect((await rendered(cache)).objects.map((a) => a.object)).toEqual(first.objects.map((a) => a.object));
      expect(renders(cache)).toHaveLength(6);
      const other = await withEdit("kubernetes/apps/probe/helmrelease.yaml", "replicas: 3", "replicas: 4", () =>
        rendered(cache),
      );
      expect(get(find(other.objects, "Deployment"), "spec", "replicas")).toBe(4);
      expect(renders(cache)).toHaveLength(8);
      expect(readdirSync(cache).filter((f) => f.startsWith("keys-")).length).toBeGreaterThan(0);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  test("a pin the cache cannot satisfy is an error at the HelmRelease's version, naming the versions it has", async () => {
    const report = await validate();
    const lines = readFileSync(join(work, "kubernetes/apps/probe/missing-pin.yaml"), "utf8").split("\n");
    const line = lines.findIndex((l) => l.includes("# mistake")) + 1;
    const hits = report.findings.filter((f) => f.rule === "helm.chart-version");
    expect(hits.map((f) => `${f.file}:${f.line}`)).toEqual([`kubernetes/apps/probe/missing-pin.yaml:${line}`]);
    expect(hits[0]?.message).toBe(
      "HelmRelease probe/probe-next: chart probe 9.9.9 is not in the chart cache charts (versions there: 1.2.0)",
    );
    // Nothing else is wrong with the fixture: the rendered chart passes every check.
    expect(report.findings.filter((f) => f.rule !== "helm.chart-version")).toEqual([]);
  });

  test("a rendered object that breaks its CRD's schema is an error at the HelmRelease naming the chart and object", async () => {
    const report = await withEdit(
      "kubernetes/apps/probe/helmrelease.yaml",
      "replicas: 3",
      'replicas: 3\n    widgetSize: "big"',
      validate,
    );
    const hit = report.findings.find((f) => f.rule === "schema");
    expect(hit?.file).toBe("kubernetes/apps/probe/helmrelease.yaml");
    expect(hit?.message).toMatch(
      /^chart probe 1\.2\.0 of HelmRelease probe\/probe, Widget probe-target\/probe-target-probe-widget: /,
    );
    expect(hit?.message).toMatch(/spec\.size: must be integer/);
  });

  test("an unknown values key is a warning at its line naming the closest real key; a key under a toYaml-ed map is read", async () => {
    const file = "kubernetes/apps/probe/helmrelease.yaml";
    const typos =
      "replicas: 3\n    replicsa: 2\n    image:\n      tga: x\n    podAnnotations:\n      owner: probe-team";
    const report = await withEdit(file, "replicas: 3", typos, validate);
    const text = readFileSync(join(work, file), "utf8").replace("replicas: 3", typos).split("\n");
    const lineOf = (needle: string) => text.findIndex((l) => l.includes(needle)) + 1;
    const hits = report.findings.filter((f) => f.rule === "helm.values-key").sort((a, b) => a.line - b.line);
    expect(hits.map((f) => [`${f.file}:${f.line}`, f.severity, f.message])).toEqual([
      [
        `${file}:${lineOf("replicsa:")}`,
        "warning",
        "HelmRelease probe/probe: chart probe 1.2.0 has no value replicsa (not in its values.yaml or values.schema.json, not read by its templates); closest: replicas",
      ],
      [
        `${file}:${lineOf("tga:")}`,
        "warning",
        "HelmRelease probe/probe: chart probe 1.2.0 has no value image.tga (not in its values.yaml or values.schema.json, not read by its templates); closest: tag",
      ],
    ]);
  });

  test("a rendered object holding a key twice is an error naming it: helm-controller's post-render (kustomize) refuses it", async () => {
    const report = await withEdit(
      "kubernetes/apps/probe/helmrelease.yaml",
      "replicas: 3",
      'replicas: 3\n    podLabels: {"app.kubernetes.io/name": "probe"}',
      validate,
    );
    const hits = report.findings.filter((f) => f.rule === "helm.render");
    expect(hits.map((f) => [f.file, f.severity])).toEqual([["kubernetes/apps/probe/helmrelease.yaml", "error"]]);
    expect(hits[0]?.message).toContain(
      "Deployment probe-target-probe-probe holds a key twice at spec.template.metadata.labels.app.kubernetes.io/name: helm-controller's post-render (kustomize) refuses the release",
    );
  });

  test("a Helm hook holding a key twice renders: Helm keeps the last, and no post-render reaches a hook", async () => {
    const report = await withEdit(
      "kubernetes/apps/probe/helmrelease.yaml",
      "replicas: 3",
      'replicas: 3\n    hookLabels: {"app.kubernetes.io/name": "probe"}',
      validate,
    );
    expect(report.findings.filter((f) => f.rule === "helm.render")).toEqual([]);
  });

  test("a rendered image on the moving tag latest is a pin error naming the chart and object", async () => {
    const report = await withEdit(
      "kubernetes/apps/probe/helmrelease.yaml",
      "replicas: 3",
      'replicas: 3\n    image: {tag: "latest"}',
      validate,
    );
    const messages = report.findings.filter((f) => f.rule === "pins").map((f) => f.message);
    expect(messages).toContain(
      'chart probe 1.2.0 of HelmRelease probe/probe, Deployment probe-target/probe-target-probe-probe: image "docker.io/library/nginx:latest" uses the moving tag "latest"',
    );
  });
});

const sharedCharts = defaultChartsDir(repo);
if (helm && !sharedCharts)
  console.warn("SKIPPING real-tree chart rendering tests: no offline chart repository at ../shared/charts");

/** The real tree (or a scratch copy of it, edited) validated with its charts rendered. */
async function validateRealTree(edit?: { file: string; from: string; to: string }) {
  const { config } = await loadConfig(join(repo, "ktsw.yaml"));
  const root = edit ? mkdtempSync(join(tmpdir(), "ktsw-tree-")) : repo;
  try {
    if (edit) {
      cpSync(join(repo, "kubernetes"), join(root, "kubernetes"), { recursive: true });
      // Renders and policy results are kept by content: the copy shares the repository's, so only
      // what the edit changes is rendered and evaluated again.
      for (const kept of ["helm-renders", "policy-results"]) {
        mkdirSync(join(repo, ".cache", "ktsw", kept), { recursive: true });
        mkdirSync(join(root, ".cache", "ktsw"), { recursive: true });
        symlinkSync(join(repo, ".cache", "ktsw", kept), join(root, ".cache", "ktsw", kept));
      }
      const text = readFileSync(join(root, edit.file), "utf8");
      expect(text, `${edit.file} contains ${edit.from}`).toContain(edit.from);
      writeFileSync(join(root, edit.file), text.replace(edit.from, edit.to));
    }
    return await validateTree({
      root,
      treeDir: "kubernetes",
      clusterPath: config?.gitops.path ?? "",
      k8sVersion: config?.kubernetes.k3sVersion ?? k8sVersion,
      schemas: {
        ...defaultSchemaSources(repo, undefined, undefined, config?.kubernetes.k3sVersion),
        cacheDir: join(root, ".cache"),
      },
      chartsDir: sharedCharts as string,
    });
  } finally {
    if (edit) rmSync(root, { recursive: true, force: true });
  }
}

// The whole tree, 12 charts and gator: minutes on a busy 2-core machine when nothing is kept yet.
const REAL_TREE_TIMEOUT = 240_000;

describe.skipIf(!helm || !sharedCharts)("the real tree, every chart rendered from ../shared/charts", () => {
  test(
    "every HelmRelease renders and its objects pass schemas, pins and the Gatekeeper policies",
    async () => {
      const report = await validateRealTree();
      expect(report.findings.filter((f) => f.severity === "error")).toEqual([]);
      const notes = report.notes.join("\n");
      // Every one of them, however many the tree holds.
      expect(notes).toMatch(/charts: (\d+) of \1 HelmReleases rendered with helm/);
      expect(notes).toMatch(/policies: \d+ plain objects and [1-9]\d* objects rendered from charts checked/);
      expect(notes).not.toMatch(/not rendered/);
    },
    REAL_TREE_TIMEOUT,
  );

  test(
    "a chart workload our own policies deny is an error naming the chart, the object and the constraint",
    async () => {
      const file = "kubernetes/security/cert-manager/app/helmrelease.yaml";
      const report = await validateRealTree({
        file,
        from: "startupapicheck:\n      enabled: false",
        to: "startupapicheck:\n      enabled: true",
      });
      const hits = report.findings.filter((f) => f.rule.startsWith("policy.") && f.file === file);
      expect(hits.map((f) => f.message)).toContain(
        'chart cert-manager v1.21.1 of HelmRelease cert-manager/cert-manager, Job cert-manager/cert-manager-startupapicheck: container "cert-manager-startupapicheck" (spec.template.spec.containers[0]): set resources.limits.cpu [K8sContainerResources container-resources]',
      );
      expect(hits.every((f) => f.severity === "error")).toBe(true);
    },
    REAL_TREE_TIMEOUT,
  );
});
