// Whether the tree's NetworkPolicies let one pod open a TCP connection to another, as Kubernetes
// decides it: the client's namespace must allow the egress and the server's the ingress (a pod no
// policy of that direction selects is open in that direction). Enough for the tree's policies:
// podSelector/namespaceSelector by matchLabels and matchExpressions (In, Exists), numeric ports,
// namespaces matched by their kubernetes.io/metadata.name label only; ipBlock peers never match a pod.
import { arr, get, namespaceOf, type Obj, str } from "../../src/validate/flux.ts";

export interface PodRef {
  namespace: string;
  labels: Record<string, string>;
}

/** Whether a label selector (matchLabels, matchExpressions) selects these labels; a missing selector selects nothing. */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  if (selector === undefined || selector === null) return false;
  const matchLabels = (get(selector, "matchLabels") ?? {}) as Record<string, string>;
  if (Object.entries(matchLabels).some(([k, v]) => labels[k] !== v)) return false;
  return arr(selector, "matchExpressions").every((e) => {
    const key = str(e, "key") ?? "";
    const values = arr(e, "values") as string[];
    switch (str(e, "operator")) {
      case "In":
        return labels[key] !== undefined && values.includes(labels[key]);
      case "NotIn":
        return labels[key] === undefined || !values.includes(labels[key]);
      case "Exists":
        return labels[key] !== undefined;
      case "DoesNotExist":
        return labels[key] === undefined;
      default:
        return false;
    }
  });
}

function peerMatches(peer: unknown, policyNamespace: string, pod: PodRef): boolean {
  if (get(peer, "ipBlock") !== undefined) return false;
  const nsSelector = get(peer, "namespaceSelector");
  const podSelector = get(peer, "podSelector");
  const nsOk =
    nsSelector === undefined
      ? pod.namespace === policyNamespace
      : selectorMatches(nsSelector, { "kubernetes.io/metadata.name": pod.namespace });
  return nsOk && (podSelector === undefined || selectorMatches(podSelector, pod.labels));
}

function portMatches(rule: unknown, port: number): boolean {
  const ports = arr(rule, "ports");
  return ports.length === 0 || ports.some((p) => (str(p, "protocol") ?? "TCP") === "TCP" && get(p, "port") === port);
}

function direction(policies: Obj[], self: PodRef, peer: PodRef, port: number, type: "Ingress" | "Egress"): boolean {
  const field = type === "Ingress" ? "ingress" : "egress";
  const peers = type === "Ingress" ? "from" : "to";
  const mine = policies.filter(
    (p) =>
      namespaceOf(p) === self.namespace &&
      selectorMatches(get(p, "spec", "podSelector"), self.labels) &&
      (arr(p, "spec", "policyTypes") as string[]).includes(type),
  );
  if (mine.length === 0) return true;
  return mine.some((p) =>
    arr(p, "spec", field).some(
      (rule) =>
        portMatches(rule, port) &&
        (arr(rule, peers).length === 0 || arr(rule, peers).some((x) => peerMatches(x, self.namespace, peer))),
    ),
  );
}

/** True when `client` may connect to `server` on TCP `port` under these NetworkPolicies. */
export function connectionAllowed(policies: Obj[], client: PodRef, server: PodRef, port: number): boolean {
  return direction(policies, client, server, port, "Egress") && direction(policies, server, client, port, "Ingress");
}
