// `ktsw validate` for the GitOps tree: parse -> build & substitute (Flux graph) -> schemas -> graph
// references -> pins -> secrets -> policies. Pure orchestration; every check lives in its own file.

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { capacityFindings, capacitySummary } from "../capacity/findings.ts";
import { type CapacityPlan, planCapacity } from "../capacity/index.ts";
import { K3S_OWNER } from "../capacity/k3s-addons.ts";
import type { CapacitySite } from "../capacity/nodes.ts";
import type { Finding } from "../diagnostics.ts";
import { builtinApiVersions, ensureBuiltinSchemas } from "./builtin-schemas.ts";
import { crdSchemas } from "./crd-schemas.ts";
import { checkDeadlocks } from "./deadlock.ts";
import { checkDecryption } from "./decryption.ts";
import { keepFileDigestsIn, keptDigestSet, keptYamlValues, saveFileDigests } from "./disk-cache.ts";
import { arr, get, nameOf, str } from "./flux.ts";
import { checkGitopsEntry, type GitopsSettings } from "./gitops.ts";
import {
  checkDependsOn,
  checkExternalSources,
  checkHelmReleaseDependsOn,
  checkNamespaces,
  checkSourceRefs,
  checkValuesFrom,
} from "./graph-checks.ts";
import { checkSchemaHeaders } from "./headers.ts";
import { renderHelmReleases } from "./helm/index.ts";
import { SOURCES_FILE } from "./offline-sources.ts";
import { checkPins, imagePinSummary } from "./pins.ts";
import { runPolicies } from "./policy-check.ts";
import { checkRemediation } from "./remediation.ts";
import { checkSchemas } from "./schema-check.ts";
import { type SchemaSources, SchemaStore } from "./schemas.ts";
import { checkSecrets } from "./secrets-check.ts";
import { indexSources, readSourceTree } from "./sources.ts";
import { checkStorageClasses } from "./storage.ts";
import { CONSTRAINTS_GROUP, constraintSchemas } from "./tree-kinds.ts";
import { type AppliedObject, type KsNode, walkFluxGraph } from "./walk.ts";

export interface TreeValidateOptions {
  /** Repository root (the folder holding ktsw.yaml). */
  root: string;
  /** The GitOps tree, relative to root. */
  treeDir: string;
  /** The folder Flux syncs first (ktsw.yaml gitops.path). */
  clusterPath: string;
  /** Cluster Kubernetes version, for the built-in schemas (e.g. v1.33.5+k3s1). */
  k8sVersion: string;
  schemas: SchemaSources;
  /** ktsw.yaml's gitops block: the Flux entry point must sync exactly this. */
  gitops?: GitopsSettings;
  /** Run Gatekeeper policies when the policy module exists (default true). */
  policies?: boolean;
  /** The chart cache HelmReleases render from (a Helm repository folder); none: charts not rendered. */
  chartsDir?: string;
  /** The nodes of ktsw.yaml (and k3s' own pods): when given, the stack must fit and every container have requests. */
  capacity?: CapacitySite;
  /** Offline copies of upstream Git sources (SOURCES.tsv + one folder each); default ../shared/manifests. */
  manifestsDir?: string;
}

export interface KustomizationLine {
  name: string;
  namespace: string;
  path: string;
  file: string;
  line: number;
  objects: number;
  /** Nesting under the Kustomization that applies it (0 for the cluster's root). */
  depth?: number;
  /** The upstream source (`Kind/namespace/name`) when the path is not in this repository. */
  external?: string;
  /** Set when that upstream source was built from its offline copy (e.g. `keycloak-k8s-resources 26.0.0`). */
  offline?: string;
  errors: number;
  warnings: number;
}

export interface TreeReport {
  kustomizations: KustomizationLine[];
  findings: Finding[];
  notes: string[];
  /** Milliseconds per phase, for the benchmark and for finding what got slow. */
  timings: Record<string, number>;
  /** The capacity plan when the nodes were given (for `ktsw plan` after validate; not in the JSON report). */
  capacity?: CapacityPlan;
}

/** What the cluster gets from the tree: the plain manifests after Flux's build and substitution, and what the charts render. */
export interface AppliedTree {
  tree: Awaited<ReturnType<typeof readSourceTree>>;
  walk: Awaited<ReturnType<typeof walkFluxGraph>>;
  helm: Awaited<ReturnType<typeof renderHelmReleases>>;
  /** The plain manifests followed by the rendered chart objects. */
  applied: AppliedObject[];
}

/** Where the tree and what it needs to be built are. */
export type TreeSources = Pick<
  TreeValidateOptions,
  "root" | "treeDir" | "clusterPath" | "k8sVersion" | "schemas" | "chartsDir" | "manifestsDir"
>;

/**
 * The one way to turn the tree into the objects Flux would apply: `validate` checks them,
 * `plan` sizes them, `diff` compares them. `lap` (optional) times each phase.
 */
export async function buildAppliedTree(
  opts: TreeSources & {
    /** Where rendered charts are kept (default `.cache/ktsw/helm-renders` under root): `diff` shares one for both sides. */
    renderCacheDir?: string;
  },
  lap: (phase: string) => void = () => {},
): Promise<AppliedTree> {
  ensureBuiltinSchemas(opts.schemas.builtinDir, opts.k8sVersion);
  keepFileDigestsIn(join(opts.root, ".cache", "ktsw"));
  const tree = await readSourceTree(opts.root, opts.treeDir, join(opts.root, ".cache", "ktsw", "parsed"));
  const index = indexSources(tree.docs);
  lap("parse");
  const manifestsDir = opts.manifestsDir ?? defaultManifestsDir(opts.root);
  const walk = await walkFluxGraph(opts.root, opts.clusterPath, tree, index, {
    ...(manifestsDir ? { manifestsDir } : {}),
    buildCacheDir: join(opts.root, ".cache", "ktsw", "kustomize-builds"),
    substitutionCacheDir: join(opts.root, ".cache", "ktsw", "substitutions"),
  });
  lap("build+substitute");
  const helm = await renderHelmReleases(walk.objects, {
    root: opts.root,
    kubeVersion: opts.k8sVersion,
    builtinApis: builtinApiVersions(opts.schemas.builtinDir),
    cacheDir: opts.renderCacheDir ?? join(opts.root, ".cache", "ktsw", "helm-renders"),
    ...(opts.chartsDir ? { chartsDir: opts.chartsDir } : {}),
  });
  lap("helm");
  saveFileDigests();
  return { tree, walk, helm, applied: [...walk.objects, ...helm.objects] };
}

export async function validateTree(opts: TreeValidateOptions): Promise<TreeReport> {
  const timings: Record<string, number> = {};
  let mark = performance.now();
  const lap = (phase: string) => {
    const now = performance.now();
    timings[phase] = Math.round(now - mark);
    mark = now;
  };
  const { tree, walk, helm, applied } = await buildAppliedTree(opts, lap);
  const objects = walk.objects;
  // Checks about Git itself (SOPS files, the Flux graph, schema headers) stay on the plain manifests.
  const treeKinds = new Map<string, () => object>([
    ...crdSchemas(applied.map((a) => a.object)),
    ...[...constraintSchemas(objects)].map(([kind, schema]): [string, () => object] => [
      `${CONSTRAINTS_GROUP}/${kind}`,
      () => schema,
    ]),
  ]);
  const store = new SchemaStore(opts.schemas, treeKinds);
  const knownValid = keptDigestSet(join(opts.root, ".cache", "ktsw", "valid-objects.json"));
  const schemaFindings = await checkSchemas(applied, store, knownValid);
  store.keepCompiledCode();
  knownValid.save();
  lap("schemas");
  const findings: Finding[] = [
    ...tree.findings,
    ...walk.findings,
    ...helm.findings,
    ...[...walk.nodes.values()].flatMap((n) => n.findings),
    ...schemaFindings,
    ...checkDependsOn(walk.nodes),
    ...checkDeadlocks(walk.nodes),
    ...checkHelmReleaseDependsOn(objects),
    ...checkValuesFrom(objects),
    ...checkRemediation(objects),
    ...checkExternalSources(walk.nodes, objects),
    ...checkSourceRefs(walk.nodes, objects),
    ...checkNamespaces(walk.nodes, objects),
    ...checkPins(applied),
    ...checkStorageClasses(applied),
    ...checkSecrets(objects, tree.docs),
    ...checkDecryption(walk.nodes),
    ...(opts.gitops ? checkGitopsEntry(objects, opts.gitops) : []),
    ...checkSchemaHeaders(objects, tree.texts),
  ];
  lap("graph+pins+secrets");
  const capacity = opts.capacity
    ? capacityPlan({ walk, applied, helm }, opts.capacity, join(opts.root, ".cache", "ktsw", "parsed"))
    : undefined;
  if (capacity) {
    findings.push(...capacityFindings(capacity));
    lap("capacity");
  }
  const pins = imagePinSummary(objects);
  const notes: string[] = [
    helm.note,
    `images in plain manifests: ${pins.images}, ${pins.byDigest} pinned by digest, ${pins.images - pins.byDigest} by tag only (digest preferred)`,
    ...(capacity ? [capacitySummary(capacity)] : []),
  ];
  if (opts.policies !== false) {
    const settings = objects.find((a) => a.object.kind === "ConfigMap" && nameOf(a.object) === "cluster-settings");
    const siteVars = (get(settings?.object, "data") ?? {}) as Record<string, string>;
    const policy = await runPolicies(opts.root, applied, siteVars);
    findings.push(...policy.findings);
    notes.push(policy.note);
    lap("policies");
  }
  const unique = dedupe(findings);
  // A finding counts against the Kustomization that applies the file it points at.
  const ownerOfFile = new Map<string, string>();
  for (const a of applied) if (a.source && !ownerOfFile.has(a.source.file)) ownerOfFile.set(a.source.file, a.owner);
  // A Kustomization's own findings (its path, build, substitution) count against it, not its parent.
  const ownFindings = new Map<Finding, string>();
  for (const n of walk.nodes.values()) for (const f of n.findings) ownFindings.set(f, n.id);
  const kustomizations = [...walk.nodes.values()].map((n): KustomizationLine => {
    const mine = unique.filter((f) => {
      const own = ownFindings.get(f);
      if (own !== undefined) return own === n.id;
      return ownerOfFile.get(f.file) === n.id || (f.file.startsWith(`${n.path}/`) && !ownerOfFile.has(f.file));
    });
    return {
      name: nameOf(n.object),
      namespace: str(n.object, "metadata", "namespace") ?? "default",
      path: n.path,
      file: n.source?.file ?? "",
      line: n.source?.line ?? 0,
      objects: n.objects.length,
      ...(n.external ? { external: n.external } : {}),
      ...(n.offline ? { offline: n.offline.label } : {}),
      errors: mine.filter((f) => f.severity === "error").length,
      warnings: mine.filter((f) => f.severity === "warning").length,
    };
  });
  return {
    kustomizations: asTree(walk.nodes, kustomizations),
    findings: unique,
    notes,
    timings,
    ...(capacity ? { capacity } : {}),
  };
}

/** The capacity plan of what the tree applies, layered and ordered the way Flux applies it. */
export function capacityPlan(
  built: Pick<AppliedTree, "walk" | "applied" | "helm">,
  site: CapacitySite,
  /** Where YAML inside objects (Linkerd's values) is kept parsed between runs; none: parsed each time. */
  parsedDir?: string,
): CapacityPlan {
  const parseYaml = parsedDir ? (text: string) => keptYamlValues(parsedDir, text)?.[0] ?? parse(text) : undefined;
  const parents = new Map([...built.walk.nodes.values()].map((n) => [n.id, n.parent]));
  // k3s starts its own pods before Flux applies the first layer.
  const order = new Map([[K3S_OWNER, -1], ...applyOrder(built.walk.nodes)]);
  return {
    ...planCapacity([...site.packaged, ...built.applied], site.nodes, { parents, order }, parseYaml),
    charts: built.helm.note,
  };
}

/** Longest chain of "applied by" and "dependsOn" before each Kustomization (cycles cut). */
export function applyOrder(nodes: Map<string, KsNode>): Map<string, number> {
  const rank = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = rank.get(id);
    if (known !== undefined) return known;
    const node = nodes.get(id);
    if (!node || visiting.has(id)) return 0;
    visiting.add(id);
    const ns =
      node.object.metadata && typeof node.object.metadata === "object"
        ? (str(node.object, "metadata", "namespace") ?? "default")
        : "default";
    const before = [
      node.parent,
      ...arr(node.object, "spec", "dependsOn").map((d) => `${str(d, "namespace") ?? ns}/${str(d, "name")}`),
    ];
    const r = Math.max(0, ...before.filter((b) => nodes.has(b)).map((b) => visit(b) + 1));
    visiting.delete(id);
    rank.set(id, r);
    return r;
  };
  for (const id of nodes.keys()) visit(id);
  return rank;
}

/**
 * The report as a tree: each Kustomization under the one that applies it, siblings in the order
 * Flux reaches them (dependsOn first), so the lines read like the rollout.
 */
function asTree(nodes: Map<string, KsNode>, lines: KustomizationLine[]): KustomizationLine[] {
  const rank = applyOrder(nodes);
  const byId = new Map(lines.map((l) => [`${l.namespace}/${l.name}`, l]));
  const children = new Map<string, string[]>();
  for (const n of nodes.values()) {
    const parent = nodes.has(n.parent) && n.parent !== n.id ? n.parent : "";
    children.set(parent, [...(children.get(parent) ?? []), n.id]);
  }
  const out: KustomizationLine[] = [];
  const seen = new Set<string>();
  const walk = (id: string, depth: number) => {
    if (seen.has(id)) return;
    seen.add(id);
    const line = byId.get(id);
    if (line) out.push({ ...line, depth });
    const kids = (children.get(id) ?? []).sort((a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0) || a.localeCompare(b));
    for (const k of kids) walk(k, depth + 1);
  };
  for (const top of (children.get("") ?? []).sort()) walk(top, 0);
  for (const l of lines) if (!seen.has(`${l.namespace}/${l.name}`)) out.push({ ...l, depth: 0 });
  return out;
}

function dedupe(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.file}:${f.line}:${f.col}:${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Default schema locations. CRDs: the offline catalog CI keeps beside the repository
 * (../shared/schemas/crds) when it is there, else the public catalog, each file cached on first use.
 */
export function defaultSchemaSources(
  root: string,
  crds?: string,
  builtinDir?: string,
  k8sVersion = "v1.33",
): SchemaSources {
  const offline = join(root, "..", "shared", "schemas", "crds");
  return {
    crds: crds ?? (existsSync(offline) ? offline : PUBLIC_CRD_CATALOG),
    builtinDir:
      builtinDir ??
      join(
        root,
        ".cache",
        "ktsw",
        "kubernetes-json-schema",
        `v${/^v?(\d+\.\d+)/.exec(k8sVersion)?.[1] ?? "1.33"}.0-local-strict`,
      ),
    cacheDir: join(root, ".cache", "ktsw", "crd-schemas"),
    validatorCacheDir: join(root, ".cache", "ktsw", "validators"),
  };
}

/**
 * The chart cache: the given folder, else the offline Helm repository CI keeps beside the
 * repository (../shared/charts) when it is there; undefined when there is none.
 */
export function defaultChartsDir(root: string, charts?: string): string | undefined {
  if (charts) return resolve(root, charts);
  const offline = join(root, "..", "shared", "charts");
  return existsSync(join(offline, "index.yaml")) ? offline : undefined;
}

/** The offline copies of upstream Git sources CI keeps beside the repository, when they are there. */
export function defaultManifestsDir(root: string): string | undefined {
  const offline = join(root, "..", "shared", "manifests");
  return existsSync(join(offline, SOURCES_FILE)) ? offline : undefined;
}

export const PUBLIC_CRD_CATALOG = "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main";
