// Helm leaves metadata.namespace out of most templates; the install puts namespaced objects in the
// release namespace. Cluster-scoped kinds (built in, or a CRD with scope Cluster) get none.
import { type Obj, str } from "../flux.ts";
import { isBuiltinGroup } from "../schemas.ts";

const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "StorageClass",
  "CSIDriver",
  "CSINode",
  "VolumeAttachment",
  "PriorityClass",
  "RuntimeClass",
  "IngressClass",
  "APIService",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "MutatingAdmissionPolicy",
  "MutatingAdmissionPolicyBinding",
  "FlowSchema",
  "PriorityLevelConfiguration",
  "CertificateSigningRequest",
]);

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
    const clusterScoped =
      (isBuiltinGroup(group) && CLUSTER_SCOPED.has(String(o.kind))) || clusterKinds.has(`${group}/${String(o.kind)}`);
    if (clusterScoped || typeof meta.namespace === "string") return o;
    return { ...o, metadata: { ...meta, namespace } };
  });
}
