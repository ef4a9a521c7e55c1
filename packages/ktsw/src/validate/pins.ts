// Pins: a chart version or image reference that can move under you makes two applies of the same
// commit differ. Chart versions must be exact (no ranges, no `*`); images need a tag or a digest,
// and `latest` never counts as a pin.
import type { Finding } from "../diagnostics.ts";
import { get, groupOf, nameOf, type Obj, str } from "./flux.ts";
import { findingFor } from "./rendered.ts";
import type { AppliedObject } from "./walk.ts";

const EXACT_SEMVER = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export function isExactVersion(v: string): boolean {
  return EXACT_SEMVER.test(v);
}

/** Problem with an image reference, or undefined when it is pinned. */
export function imageProblem(ref: string): string | undefined {
  if (ref.includes("${")) return undefined; // substituted later; checked after substitution
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return undefined;
  const lastSlash = ref.lastIndexOf("/");
  const colon = ref.indexOf(":", lastSlash + 1);
  if (colon < 0) return `image "${ref}" has no tag or digest (it means :latest)`;
  const tag = ref.slice(colon + 1);
  if (tag === "" || tag === "latest") return `image "${ref}" uses the moving tag "${tag || "(empty)"}"`;
  return undefined;
}

/** Visits every image reference under `value`. `path` is one stack the walk pushes to and pops from (a chart's
 *  objects are thousands of nodes: a new array per node was most of this check's time); `visit` gets a copy. */
function walkImages(
  value: unknown,
  path: (string | number)[],
  visit: (path: (string | number)[], problem: string) => void,
): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v === null || typeof v !== "object") continue;
      path.push(i);
      walkImages(v, path, visit);
      path.pop();
    }
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const k in value as Obj) {
    const v = (value as Obj)[k];
    if (k === "newTag" && (v === "latest" || v === "")) {
      // kustomize `images:` overrides (Flux Kustomization spec.images, postRenderers) retag images.
      visit([...path, k], `image override newTag "${String(v)}" is not a pin`);
    } else if (k === "image" && typeof v === "string") {
      const p = imageProblem(v);
      if (p) visit([...path, k], p);
    } else if (v !== null && typeof v === "object") {
      path.push(k);
      // Chart values style: { repository, tag }. A missing tag means the chart's pinned appVersion.
      if (k === "image" && "tag" in v) {
        const tag = (v as Obj).tag;
        if (tag === "latest" || tag === "") visit([...path, "tag"], `image tag "${String(tag)}" is not a pin`);
      }
      walkImages(v, path, visit);
      path.pop();
    }
  }
}

export function checkPins(objects: readonly AppliedObject[]): Finding[] {
  const out: Finding[] = [];
  for (const a of objects) {
    const o = a.object;
    const report = (path: (string | number)[], message: string) => out.push(findingFor(a, path, message, "pins"));
    if (o.kind === "HelmRelease" && groupOf(o) === "helm.toolkit.fluxcd.io" && get(o, "spec", "chart") !== undefined) {
      const version = str(o, "spec", "chart", "spec", "version");
      if (!version)
        report(
          ["spec", "chart", "spec"],
          `HelmRelease ${nameOf(o)}: chart version missing (that means the newest chart)`,
        );
      else if (!isExactVersion(version))
        report(
          ["spec", "chart", "spec", "version"],
          `HelmRelease ${nameOf(o)}: chart version "${version}" is not an exact version`,
        );
    }
    if (o.kind === "OCIRepository" && groupOf(o) === "source.toolkit.fluxcd.io") {
      const ref = (get(o, "spec", "ref") ?? {}) as Obj;
      if (
        typeof ref.digest !== "string" &&
        !(typeof ref.semver === "string" && isExactVersion(ref.semver)) &&
        !(typeof ref.tag === "string" && ref.tag !== "latest")
      ) {
        report(
          ["spec", "ref"],
          `OCIRepository ${nameOf(o)}: needs ref.tag (not latest), an exact ref.semver or ref.digest`,
        );
      }
    }
    walkImages(o, [], report);
  }
  return out;
}

/** Container images of plain manifests (not chart values): how many are pinned by digest. */
export function imagePinSummary(objects: readonly AppliedObject[]): { images: number; byDigest: number } {
  const refs = new Set<string>();
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) collect(v);
      return;
    }
    if (value === null || typeof value !== "object") return;
    for (const [k, v] of Object.entries(value as Obj)) {
      if (k === "containers" || k === "initContainers") {
        for (const c of Array.isArray(v) ? v : [])
          if (typeof (c as Obj).image === "string") refs.add((c as Obj).image as string);
      } else if (k !== "values") collect(v);
    }
  };
  for (const a of objects) collect(a.object);
  const byDigest = [...refs].filter((r) => r.includes("@sha256:")).length;
  return { images: refs.size, byDigest };
}
