// Linkerd's proxy injector adds containers to pods as they are created, so the pods that run are
// bigger than their templates. What it adds is clear from the tree: the control plane's own
// `linkerd-config` ConfigMap (its `values`, as the injector reads them) says the proxy's resources
// and whether it runs as a native sidecar; the pod's and its namespace's `linkerd.io/inject`
// annotations say which pods get it; the webhook's namespace and object selectors say which never do.
import { parse } from "yaml";
import { get, nameOf, type Obj, str } from "../validate/flux.ts";
import type { AppliedObject } from "../validate/walk.ts";
import { selectorMatches } from "./rules.ts";
import type { LabelSelector } from "./workloads.ts";

export interface MeshProxy {
  /** Kubernetes `resources` of the proxy and of its init container (the chart gives both the same). */
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  /** proxy.nativeSidecar: the proxy is an init container with restartPolicy Always. */
  native: boolean;
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  /** Namespace name → its labels and annotations. */
  namespaces: Map<string, { labels: Record<string, string>; annotations: Record<string, string> }>;
}

const record = (v: unknown): Record<string, string> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : {};

/** Linkerd's `{cpu: {request, limit}, memory: {...}}` as Kubernetes `resources` (empty strings: unset). */
function asResources(r: unknown): MeshProxy["resources"] {
  const out: { requests: Record<string, string>; limits: Record<string, string> } = { requests: {}, limits: {} };
  for (const name of ["cpu", "memory"]) {
    const request = get(r, name, "request");
    const limit = get(r, name, "limit");
    if (request !== undefined && request !== null && request !== "") out.requests[name] = String(request);
    if (limit !== undefined && limit !== null && limit !== "") out.limits[name] = String(limit);
  }
  return out;
}

/** The injector's settings when the tree installs Linkerd's control plane; undefined otherwise. */
export function linkerdProxy(
  applied: readonly AppliedObject[],
  parseYaml: (text: string) => unknown = parse,
): MeshProxy | undefined {
  const config = applied.find((a) => a.object.kind === "ConfigMap" && nameOf(a.object) === "linkerd-config");
  const text = str(config?.object, "data", "values");
  if (!text) return undefined;
  const values = parseYaml(text);
  const namespaces: MeshProxy["namespaces"] = new Map();
  for (const a of applied)
    if (a.object.kind === "Namespace")
      namespaces.set(nameOf(a.object), {
        // The API server labels every namespace with its name; selectors rely on it.
        labels: { ...record(get(a.object, "metadata", "labels")), "kubernetes.io/metadata.name": nameOf(a.object) },
        annotations: record(get(a.object, "metadata", "annotations")),
      });
  const selector = (key: string) => (get(values, "proxyInjector", key) as LabelSelector | undefined) ?? undefined;
  return {
    resources: asResources(get(values, "proxy", "resources")),
    native: get(values, "proxy", "nativeSidecar") === true,
    ...(selector("namespaceSelector") ? { namespaceSelector: selector("namespaceSelector") } : {}),
    ...(selector("objectSelector") ? { objectSelector: selector("objectSelector") } : {}),
    namespaces,
  };
}

const INJECT = "linkerd.io/inject";

/** Whether the injector meshes a pod of `namespace` with these labels, annotations and spec. */
export function isMeshed(
  mesh: MeshProxy,
  namespace: string,
  pod: { labels: Record<string, string>; annotations: Record<string, string>; spec: unknown },
): boolean {
  const ns = mesh.namespaces.get(namespace) ?? {
    labels: { "kubernetes.io/metadata.name": namespace },
    annotations: {},
  };
  // The webhook is never called for these namespaces and objects.
  if (mesh.namespaceSelector && !selectorMatches(mesh.namespaceSelector, ns.labels)) return false;
  if (mesh.objectSelector && !selectorMatches(mesh.objectSelector, pod.labels)) return false;
  // The injector skips host-network pods: their traffic is the node's.
  if (get(pod.spec, "hostNetwork") === true) return false;
  const wanted = pod.annotations[INJECT] ?? ns.annotations[INJECT];
  return wanted === "enabled" || wanted === "ingress";
}

/** The pod spec as the injector leaves it: linkerd-init first, then the proxy (a native sidecar or a container). */
export function withProxy(mesh: MeshProxy, spec: unknown): Obj {
  const base = record(spec) as Obj;
  const list = (field: string): unknown[] => (Array.isArray(base[field]) ? (base[field] as unknown[]) : []);
  const init = { name: "linkerd-init", resources: mesh.resources };
  const proxy = { name: "linkerd-proxy", resources: mesh.resources };
  return mesh.native
    ? { ...base, initContainers: [init, { ...proxy, restartPolicy: "Always" }, ...list("initContainers")] }
    : { ...base, initContainers: [init, ...list("initContainers")], containers: [proxy, ...list("containers")] };
}
