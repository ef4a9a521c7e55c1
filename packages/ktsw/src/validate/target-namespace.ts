// Flux's spec.targetNamespace: kustomize-controller sets it on every namespaced object it builds
// (overriding any namespace in the files), and the API server keeps cluster-scoped objects
// namespace-free. Objects must be checked where they will really land.
import type { Obj } from "./flux.ts";
import { groupOf } from "./flux.ts";

const CLUSTER_SCOPED_BUILTINS = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "StorageClass",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "MutatingAdmissionPolicy",
  "MutatingAdmissionPolicyBinding",
  "PriorityClass",
  "IngressClass",
  "RuntimeClass",
  "CSIDriver",
  "CSINode",
  "VolumeAttachment",
  "APIService",
  "CertificateSigningRequest",
  "FlowSchema",
  "PriorityLevelConfiguration",
]);

/** Cluster-scoped by Kubernetes or by convention of the operators KTSW runs (Cluster*, Gatekeeper). */
export function isClusterScoped(o: Obj): boolean {
  const kind = String(o.kind ?? "");
  const group = groupOf(o);
  if (CLUSTER_SCOPED_BUILTINS.has(kind)) return true;
  if (kind.startsWith("Cluster") && group !== "postgresql.cnpg.io") return true; // CNPG's Cluster is namespaced
  return group === "templates.gatekeeper.sh" || group === "constraints.gatekeeper.sh";
}

export function withTargetNamespace(o: Obj, targetNamespace: string | undefined): Obj {
  if (!targetNamespace) return o;
  if (isClusterScoped(o)) {
    // kustomize's namespace transformer also stamps custom cluster-scoped kinds; the API drops it.
    const { namespace: _dropped, ...metadata } = (o.metadata ?? {}) as Obj;
    return { ...o, metadata };
  }
  const metadata = { ...((o.metadata ?? {}) as Obj), namespace: targetNamespace };
  return { ...o, metadata };
}
