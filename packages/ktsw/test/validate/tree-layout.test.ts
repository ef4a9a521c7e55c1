// The Flux tree's one pattern (kubernetes/README.md): every layer at kubernetes/<layer>, one folder per
// component with ks.yaml + README.md beside app/, Kustomizations named <component> (app/) or
// <component>-<folder>, their defaults set once in clusters/homelab/layers and patched in by the layers,
// no kustomization.yaml that nothing builds, NetworkPolicies in networkpolicies.yaml.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { findTool } from "../../src/tools/find.ts";
import { isFluxKustomization, type Obj } from "../../src/validate/flux.ts";
import { indexSources, readSourceTree } from "../../src/validate/sources.ts";
import { walkFluxGraph } from "../../src/validate/walk.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const LAYERS_DIR = "kubernetes/clusters/homelab/layers";
/** Kustomizations a layer index deletes with a patch until they are switched on. */
const OPTIONAL_KUSTOMIZATIONS = ["cert-manager-acme", "task-processor-recovery"];
/** Fields every component Kustomization gets from the layers; a ks.yaml must not repeat them. */
const DEFAULTED = ["interval", "prune", "wait", "timeout", "sourceRef", "decryption", "postBuild"];

if (!findTool("kustomize") && !findTool("kubectl"))
  console.warn("kustomize missing: run `bash scripts/install-deps.sh`; the graph tests will fail");

interface FluxKs {
  name: string;
  spec: Obj;
}

function docsOf(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, "utf8")).map((d) => (d.toJS() ?? {}) as Obj);
}

function fluxKustomizations(file: string): FluxKs[] {
  return docsOf(file)
    .filter(isFluxKustomization)
    .map((o) => ({ name: String((o.metadata as Obj)?.name), spec: (o.spec ?? {}) as Obj }));
}

function subdirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((d) => statSync(join(dir, d)).isDirectory())
    .sort();
}

function resourcesOf(kustomization: string): string[] {
  return ((parse(readFileSync(kustomization, "utf8")) as Obj).resources ?? []) as string[];
}

/** Every way `root`'s kubernetes/ tree breaks the pattern, one sentence each; [] when it follows it. */
function layoutProblems(root: string): string[] {
  const problems: string[] = [];
  const at = (p: string) => join(root, p);
  const layers = resourcesOf(at(`${LAYERS_DIR}/kustomization.yaml`)).flatMap((r) =>
    fluxKustomizations(at(join(LAYERS_DIR, r))),
  );
  const layerNames = layers.map((l) => l.name);
  for (const layer of layers)
    if (layer.spec.path !== `./kubernetes/${layer.name}`)
      problems.push(`layer ${layer.name}: path ${layer.spec.path}, expected ./kubernetes/${layer.name}`);
  const top = subdirs(at("kubernetes"));
  for (const dir of top)
    if (dir !== "clusters" && !layerNames.includes(dir)) problems.push(`kubernetes/${dir}: not a layer`);

  // Folders some Flux Kustomization builds, and the layer indexes: the only places for a kustomization.yaml.
  const built = new Set<string>(layerNames.map((l) => `kubernetes/${l}`));
  for (const layer of layerNames.filter((l) => top.includes(l))) {
    const components = subdirs(at(`kubernetes/${layer}`));
    const listed = resourcesOf(at(`kubernetes/${layer}/kustomization.yaml`)).sort();
    const expected = components.map((c) => `./${c}/ks.yaml`);
    if (JSON.stringify(listed) !== JSON.stringify(expected))
      problems.push(
        `kubernetes/${layer}/kustomization.yaml lists ${listed.join(", ")}; expected ${expected.join(", ")}`,
      );
    for (const component of components) {
      const dir = `kubernetes/${layer}/${component}`;
      for (const file of ["ks.yaml", "README.md"])
        if (!existsSync(at(`${dir}/${file}`))) problems.push(`${dir}: no ${file}`);
      if (!existsSync(at(`${dir}/ks.yaml`))) continue;
      for (const ks of fluxKustomizations(at(`${dir}/ks.yaml`))) {
        const path = String(ks.spec.path ?? "");
        const own = path.startsWith(`./${dir}/`) ? path.slice(`./${dir}/`.length) : undefined;
        // A Kustomization of upstream manifests (no folder here) is the component's app.
        const expectedName = own === undefined || own === "app" ? component : `${component}-${own}`;
        if (ks.name !== expectedName)
          problems.push(`${dir}/ks.yaml: Kustomization ${ks.name} should be ${expectedName}`);
        if (own !== undefined) {
          if (own.includes("/")) problems.push(`${dir}/ks.yaml: ${ks.name} path ${path} is not a folder of ${dir}`);
          built.add(`${dir}/${own}`);
        }
        for (const field of DEFAULTED)
          if (field in ks.spec) problems.push(`${dir}/ks.yaml: ${ks.name} repeats the layer default ${field}`);
      }
    }
  }

  for (const entry of readdirSync(at("kubernetes"), { recursive: true, encoding: "utf8" }).sort()) {
    const file = `kubernetes/${entry}`;
    if (file.startsWith("kubernetes/clusters/") || !/\.ya?ml$/.test(file)) continue;
    const folder = dirname(file);
    if (basename(file) === "kustomization.yaml" && !built.has(folder))
      problems.push(`${file}: no Flux Kustomization builds ${folder}`);
    if (
      built.has(folder) &&
      basename(file) !== "networkpolicies.yaml" &&
      docsOf(at(file)).some((o) => o.kind === "NetworkPolicy")
    )
      problems.push(`${file}: NetworkPolicies belong in ${folder}/networkpolicies.yaml`);
  }
  return problems;
}

describe("the Flux tree's one pattern", () => {
  test("the real tree follows it", () => {
    expect(layoutProblems(repo)).toEqual([]);
  });

  test("each way of breaking it is reported", () => {
    const work = mkdtempSync(join(tmpdir(), "ktsw-layout-"));
    try {
      cpSync(join(repo, "kubernetes"), join(work, "kubernetes"), { recursive: true });
      const edit = (file: string, from: string, to: string) => {
        const path = join(work, file);
        const text = readFileSync(path, "utf8");
        expect(text, `${file} contains ${from}`).toContain(from);
        writeFileSync(path, text.replace(from, to));
      };
      edit("kubernetes/networking/metallb/ks.yaml", "name: metallb-config", "name: metallb-bgp");
      edit("kubernetes/data/nack/ks.yaml", "spec:\n", "spec:\n  interval: 5m\n");
      writeFileSync(join(work, "kubernetes/platform/gatekeeper/kustomization.yaml"), "resources: [ks.yaml]\n");
      const keda = "kubernetes/platform/keda/app";
      cpSync(join(work, keda, "networkpolicies.yaml"), join(work, keda, "networkpolicy.yaml"));
      rmSync(join(work, "kubernetes/data/nats/README.md"));
      expect(layoutProblems(work).sort()).toEqual([
        "kubernetes/data/nack/ks.yaml: nack repeats the layer default interval",
        "kubernetes/data/nats: no README.md",
        "kubernetes/networking/metallb/ks.yaml: Kustomization metallb-bgp should be metallb-config",
        "kubernetes/platform/gatekeeper/kustomization.yaml: no Flux Kustomization builds kubernetes/platform/gatekeeper",
        `${keda}/networkpolicy.yaml: NetworkPolicies belong in ${keda}/networkpolicies.yaml`,
      ]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe("component Kustomizations as the layers create them", () => {
  const defaults = {
    interval: "30m",
    prune: true,
    wait: true,
    timeout: "10m",
    sourceRef: { kind: "GitRepository", name: "flux-system" },
    decryption: { provider: "sops", secretRef: { name: "sops-age" } },
    postBuild: {
      substituteFrom: [
        { kind: "ConfigMap", name: "cluster-settings" },
        { kind: "Secret", name: "cluster-secrets" },
      ],
    },
  };
  // The exceptions clusters/homelab/layers/kustomization.yaml applies after the defaults.
  const exceptions: Record<string, Obj> = {
    cilium: { prune: false },
    keycloak: { timeout: "15m" },
    "keycloak-operator": {
      sourceRef: { kind: "GitRepository", name: "keycloak-k8s-resources" },
      decryption: undefined,
      postBuild: undefined,
    },
  };

  test("every ks.yaml Kustomization is reached, with the layer defaults (and only the listed exceptions)", async () => {
    const tree = await readSourceTree(repo, "kubernetes");
    const walk = await walkFluxGraph(repo, "./kubernetes/clusters/homelab", tree, indexSources(tree.docs));
    const layers = new Set(["networking", "security", "platform", "observability", "data", "apps"]);
    const components = [...walk.nodes.values()].filter((n) => layers.has(n.parent.replace(/^flux-system\//, "")));
    const declared = tree.docs
      .filter((d) => basename(d.file) === "ks.yaml" && isFluxKustomization(d.object))
      .map((d) => String((d.object.metadata as Obj).name))
      // Optional, off until switched on (tree.test.ts validates the tree with each on).
      .filter((name) => !OPTIONAL_KUSTOMIZATIONS.includes(name));
    expect(components.map((n) => String((n.object.metadata as Obj).name)).sort()).toEqual(declared.sort());
    for (const node of components) {
      const name = String((node.object.metadata as Obj).name);
      const spec = node.object.spec as Obj;
      const want = { ...defaults, ...exceptions[name] };
      for (const [field, value] of Object.entries(want)) expect(spec[field], `${name}.spec.${field}`).toEqual(value);
    }
    for (const name of OPTIONAL_KUSTOMIZATIONS) expect(walk.nodes.has(`flux-system/${name}`), name).toBe(false);
  });
});
