// Small readers for the Flux and Kubernetes fields the graph checks use.
export type Obj = Record<string, unknown>;

export const FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io";

export function get(o: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = o;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

export function str(o: unknown, ...path: (string | number)[]): string | undefined {
  const v = get(o, ...path);
  return typeof v === "string" ? v : undefined;
}

export function arr(o: unknown, ...path: (string | number)[]): unknown[] {
  const v = get(o, ...path);
  return Array.isArray(v) ? v : [];
}

export function groupOf(o: Obj): string {
  const apiVersion = str(o, "apiVersion") ?? "";
  return apiVersion.includes("/") ? (apiVersion.split("/")[0] ?? "") : "";
}

export function isFluxKustomization(o: Obj): boolean {
  return o.kind === "Kustomization" && groupOf(o) === FLUX_KUSTOMIZE_GROUP;
}

export function nameOf(o: Obj): string {
  return str(o, "metadata", "name") ?? "";
}

export function namespaceOf(o: Obj): string | undefined {
  return str(o, "metadata", "namespace");
}

/** Flux paths are relative to the source root (`./kubernetes/apps`); ours is the repository root. */
export function normalizeFluxPath(p: string): string {
  const trimmed = p.replace(/^\.\//, "").replace(/\/+$/, "");
  return trimmed === "." ? "" : trimmed;
}

/** A Helm hook (`helm.sh/hook` annotation): run by Helm around install, upgrade or delete, outside the release manifest. */
export const isHelmHook = (o: Obj): boolean => get(o, "metadata", "annotations", "helm.sh/hook") !== undefined;
