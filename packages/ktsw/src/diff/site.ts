// The whole site as `ktsw diff` compares it: every file `ktsw render` makes, and every object Flux
// would apply (plain manifests and rendered charts), each placed in its layer and Flux Kustomization.
import type { FileMap } from "../render/index.ts";
import { groupOf, nameOf, namespaceOf, normalizeFluxPath, type Obj } from "../validate/flux.ts";
import { applyOrder } from "../validate/index.ts";
import type { AppliedObject, KsNode, RenderedFrom } from "../validate/walk.ts";

/** Where an object sits in the report: its layer, then the Flux Kustomization that applies it. */
export interface Placement {
  layer: string;
  /** `namespace/name` of the Flux Kustomization ("" when nothing applies it). */
  kustomization: string;
  /** Its folder in the repository. */
  path: string;
  /** How far down the rollout it is applied (after its parent and its dependsOn). */
  rank: number;
}

export interface SiteObject {
  /** Pairs the two sides: the Kustomization that applies it, then group, kind, namespace, name. */
  key: string;
  /** `Kind namespace/name` (`Kind name` when cluster-scoped). */
  label: string;
  placement: Placement;
  object: Obj;
  chart?: RenderedFrom;
}

export interface Site {
  /** Repository-relative path → content, as `ktsw render` writes them. */
  artifacts: FileMap;
  objects: SiteObject[];
  /**
   * What should have produced objects and did not: `HelmRelease namespace/name` (no chart in the cache, a failed
   * render) and `Kustomization namespace/name` (its path missing or not building).
   */
  failed?: string[];
}

export function objectLabel(o: Obj): string {
  const ns = namespaceOf(o);
  return `${String(o.kind ?? "?")} ${ns ? `${ns}/` : ""}${nameOf(o)}`;
}

/** The layer is the tree's first folder under treeDir (`networking`, `apps`...), as the README's layers map. */
export function layerOf(path: string, treeDir: string): string {
  const tree = normalizeFluxPath(treeDir);
  const inside = path.startsWith(`${tree}/`) ? path.slice(tree.length + 1) : path;
  return inside.split("/")[0] || "(repository root)";
}

/** The applied objects of one side, each with its layer and Kustomization. */
export function siteObjects(
  applied: readonly AppliedObject[],
  nodes: Map<string, KsNode>,
  treeDir: string,
): Site["objects"] {
  const rank = applyOrder(nodes);
  const seen = new Map<string, number>();
  return applied.map((a) => {
    const node = nodes.get(a.owner);
    const path = node?.path ?? "";
    const identity = [a.owner, groupOf(a.object), a.object.kind, namespaceOf(a.object) ?? "", nameOf(a.object)].join(
      "|",
    );
    // The same object twice under one Kustomization (a tree mistake validate reports) stays two entries.
    const count = (seen.get(identity) ?? 0) + 1;
    seen.set(identity, count);
    return {
      key: count === 1 ? identity : `${identity}|${count}`,
      label: objectLabel(a.object),
      placement: {
        layer: node ? layerOf(path, treeDir) : "(not applied by a Kustomization)",
        kustomization: a.owner,
        path,
        rank: rank.get(a.owner) ?? 0,
      },
      object: a.object,
      ...(a.chart ? { chart: a.chart } : {}),
    };
  });
}

/** Rules of the findings that mean a Kustomization applied nothing. */
export const BUILD_FAILURES = new Set(["flux.build", "flux.path"]);

/** The HelmReleases no rendered object came back from, and the Kustomizations that did not build. */
export function failedProducers(applied: readonly AppliedObject[], nodes: Map<string, KsNode>): string[] {
  const rendered = new Set(applied.flatMap((a) => (a.chart ? [a.chart.release] : [])));
  const releases = applied
    .filter((a) => a.object.kind === "HelmRelease" && groupOf(a.object) === "helm.toolkit.fluxcd.io")
    .map((a) => `${namespaceOf(a.object) ?? "default"}/${nameOf(a.object)}`)
    .filter((id) => !rendered.has(id));
  const unbuilt = [...nodes.values()].filter((n) => n.findings.some((f) => BUILD_FAILURES.has(f.rule)));
  return [...releases.map((id) => `HelmRelease ${id}`), ...unbuilt.map((n) => `Kustomization ${n.id}`)];
}

/** What made an object: its Kustomization, and its HelmRelease when a chart rendered it. */
export function producersOf(o: SiteObject): string[] {
  return [`Kustomization ${o.placement.kustomization}`, ...(o.chart ? [`HelmRelease ${o.chart.release}`] : [])];
}

/** Secrets show only that they changed: a Secret's data, or any SOPS-encrypted object's, is never printed. */
export function isSecretObject(o: Obj): boolean {
  return (o.kind === "Secret" && groupOf(o) === "") || o.sops !== undefined;
}

/** A SOPS-encrypted file: its `sops:` metadata block and `ENC[...]` values. */
export function isSecretFile(content: string): boolean {
  return /^sops:\s*$/m.test(content) && content.includes("ENC[");
}

/** Where a rendered file appears in the report: its folder (one per node, per router, ...). */
export function artifactGroup(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : path.slice(0, slash);
}

export const chartNote = (c: RenderedFrom) => `chart ${c.chart} ${c.version} of HelmRelease ${c.release}`;

export const describeKustomization = (p: Placement) =>
  p.kustomization ? `Kustomization ${p.kustomization}` : "applied by no Kustomization";

export const kustomizationPath = (p: Placement) => (p.path ? `./${p.path}` : "");

/** `apiVersion`, `kind`, `metadata` first (as kubectl prints them), every other key sorted at every level. */
export function canonical(value: unknown, top = true): unknown {
  if (Array.isArray(value)) return value.map((v) => canonical(v, false));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value as Obj);
  const first = top ? ["apiVersion", "kind", "metadata"] : [];
  const order = (k: string) => (first.includes(k) ? first.indexOf(k) : first.length);
  entries.sort(([a], [b]) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v, false)]));
}
