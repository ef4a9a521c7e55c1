// What helm-controller does to Helm's output before applying it (internal/postrender/build.go):
// each spec.postRenderers[].kustomize (patches, images) in order, then spec.commonMetadata, then the
// origin labels helm.toolkit.fluxcd.io/{name,namespace} (last, so they win a key collision). The
// metadata steps touch only each object's own metadata.labels/annotations, never pod templates.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { arr, get, nameOf, namespaceOf, type Obj } from "../flux.ts";
import { kustomizeBuild, kustomizeCommand } from "../kustomize.ts";

/** The kustomize post-renderers of a HelmRelease, as kustomization.yaml bodies. */
export function kustomizePostRenderers(hr: Obj): { patches?: unknown[]; images?: unknown[] }[] {
  return arr(hr, "spec", "postRenderers").flatMap((r) => {
    const k = get(r, "kustomize") as Obj | undefined;
    if (!k) return [];
    const patches = Array.isArray(k.patches) && k.patches.length ? { patches: k.patches } : {};
    const images = Array.isArray(k.images) && k.images.length ? { images: k.images } : {};
    return [{ ...patches, ...images }];
  });
}

/** Runs one kustomize post-renderer over the objects with the repository's pinned kustomize. */
export async function runKustomizePostRenderer(
  objects: readonly Obj[],
  step: { patches?: unknown[]; images?: unknown[] },
): Promise<{ objects: Obj[]; error?: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ktsw-postrender-"));
  try {
    writeFileSync(join(dir, "helm-output.yaml"), objects.map((o) => stringify(o)).join("---\n"));
    const kustomization = {
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: ["helm-output.yaml"],
      ...step,
    };
    writeFileSync(join(dir, "kustomization.yaml"), stringify(kustomization));
    const built = await kustomizeBuild(kustomizeCommand(), dir);
    return built.error ? { objects: [], error: built.error } : { objects: built.objects };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** commonMetadata, then the origin labels: on each object's own metadata only. */
export function withReleaseMetadata(objects: readonly Obj[], hr: Obj): Obj[] {
  const common = (get(hr, "spec", "commonMetadata") ?? {}) as { labels?: Obj; annotations?: Obj };
  const origin = {
    "helm.toolkit.fluxcd.io/name": nameOf(hr),
    "helm.toolkit.fluxcd.io/namespace": namespaceOf(hr) ?? "default",
  };
  return objects.map((o) => {
    const meta = (o.metadata ?? {}) as Obj;
    const labels = { ...((meta.labels as Obj | undefined) ?? {}), ...(common.labels ?? {}), ...origin };
    const annotations = common.annotations
      ? { ...((meta.annotations as Obj | undefined) ?? {}), ...common.annotations }
      : meta.annotations;
    return { ...o, metadata: { ...meta, labels, ...(annotations ? { annotations } : {}) } };
  });
}
