// The scheduler's filters, as pure predicates over one node (kube-scheduler's NodeAffinity,
// TaintToleration, InterPodAffinity and PodTopologySpread plugins, required parts only).
import type { CapacityNode, Taint } from "./nodes.ts";
import type { LabelSelector, NodeSelectorTerm, PodAffinityTerm, PodRules, Toleration } from "./workloads.ts";

type Requirement = { key: string; operator: string; values?: string[] };

function requirementHolds(labels: Record<string, string>, r: Requirement): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return has && values.includes(value ?? "");
    case "NotIn":
      return !has || !values.includes(value ?? "");
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      const n = Number(value);
      const bound = Number(values[0]);
      if (!has || !Number.isInteger(n) || !Number.isInteger(bound)) return false;
      return r.operator === "Gt" ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

/** metav1.LabelSelector: matchLabels and matchExpressions all hold; an absent selector matches nothing. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  return (
    Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
    (selector.matchExpressions ?? []).every((r) => requirementHolds(labels, r))
  );
}

/** nodeSelector and required node affinity (terms are ORed, a term's requirements ANDed). */
export function nodeMatches(rules: PodRules, node: CapacityNode): boolean {
  if (!Object.entries(rules.nodeSelector).every(([k, v]) => node.labels[k] === v)) return false;
  if (rules.nodeTerms.length === 0) return true;
  const fields = { "metadata.name": node.name };
  return rules.nodeTerms.some(
    (t: NodeSelectorTerm) =>
      ((t.matchExpressions ?? []).length > 0 || (t.matchFields ?? []).length > 0) &&
      (t.matchExpressions ?? []).every((r) => requirementHolds(node.labels, r)) &&
      (t.matchFields ?? []).every((r) => requirementHolds(fields, r)),
  );
}

function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === "Exists";
  if (t.key !== taint.key) return false;
  return t.operator === "Exists" || (t.value ?? "") === taint.value;
}

/** The first taint that keeps the pod off the node (PreferNoSchedule only scores), if any. */
export function untoleratedTaint(rules: PodRules, node: CapacityNode): Taint | undefined {
  return node.taints.find(
    (taint) => taint.effect !== "PreferNoSchedule" && !rules.tolerations.some((t) => tolerates(t, taint)),
  );
}

/** A placed pod as the inter-pod rules see it. */
export interface PlacedPod {
  namespace: string;
  labels: Record<string, string>;
  node: string;
}

/** Pods a term (or spread constraint) of a pod in `namespace` counts. */
export function termSelects(term: PodAffinityTerm, namespace: string, pod: PlacedPod): boolean {
  const namespaces = term.namespaceSelector !== undefined ? undefined : (term.namespaces ?? [namespace]);
  return (!namespaces || namespaces.includes(pod.namespace)) && selectorMatches(term.labelSelector, pod.labels);
}
