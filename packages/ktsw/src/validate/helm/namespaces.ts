// Helm leaves metadata.namespace out of most templates; the install puts namespaced objects in the
// release namespace. Cluster-scoped kinds (built in, or a CRD with scope Cluster) get none.
import { type Obj, str } from "../flux.ts";
import { isClusterScoped } from "../target-namespace.ts";

export function defaultNamespaces(objects: readonly Obj[], namespace: string, crds: readonly Obj[]): Obj[] {
  const clusterKinds = new Set(
    crds
      .filter((c) => str(c, "spec", "scope") === "Cluster")
      .map((c) => `${str(c, "spec", "group")}/${str(c, "spec", "names", "kind")}`),
  );
  return objects.map((o) => {
    const meta = (o.metadata ?? {}) as Obj;
    const apiVersion = str(o, "apiVersion") ?? "";
    const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.lastIndexOf("/")) : "";
    if (isClusterScoped(o) || clusterKinds.has(`${group}/${String(o.kind)}`) || typeof meta.namespace === "string")
      return o;
    return { ...o, metadata: { ...meta, namespace } };
  });
}
