// The pods a tree asks for, read from the objects Flux would apply: the pod template of every
// workload kind, and the pods well-known operators create from a custom resource when the resource
// itself says how many and how big (CloudNativePG Cluster, Keycloak, VictoriaMetrics VMSingle,
// VMAgent, VMAlert and VMAlertmanager). Other custom resources are not guessed at; `coveredKinds`
// lists what is read. Pods Linkerd's injector meshes get its proxy (linkerd.ts).
import { get, groupOf, nameOf, namespaceOf, type Obj, str } from "../validate/flux.ts";
import type { AppliedObject } from "../validate/walk.ts";
import { isMeshed, linkerdProxy, withProxy } from "./linkerd.ts";
import { type PodResources, podResources } from "./resources.ts";

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  topologyKey: string;
  namespaces?: string[];
  /** Present (even empty) means "pods of any namespace": namespace labels are not modelled. */
  namespaceSelector?: unknown;
}

export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  labelSelector?: LabelSelector;
  /** Honor: only nodes the pod tolerates count as domains; Ignore (the default): every node does. */
  nodeTaintsPolicy?: "Honor" | "Ignore";
  /** Honor (the default): only nodes matching the pod's nodeSelector/affinity count; Ignore: every node. */
  nodeAffinityPolicy?: "Honor" | "Ignore";
}

export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: string;
}

export interface NodeSelectorTerm {
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
  matchFields?: { key: string; operator: string; values?: string[] }[];
}

/** What the scheduler reads from a pod: where it may go and whom it must avoid or follow. */
export interface PodRules {
  labels: Record<string, string>;
  nodeSelector: Record<string, string>;
  /** Required node affinity: any term must match (empty: no constraint). */
  nodeTerms: NodeSelectorTerm[];
  tolerations: Toleration[];
  /** Required pod affinity: a matching pod must already run in the same topology domain. */
  affinity: PodAffinityTerm[];
  /** Required pod anti-affinity: no matching pod may run in the same topology domain. */
  antiAffinity: PodAffinityTerm[];
  /** topologySpreadConstraints with whenUnsatisfiable DoNotSchedule (ScheduleAnyway only scores). */
  spread: SpreadConstraint[];
}

export interface Workload {
  kind: string;
  namespace: string;
  name: string;
  /** The Flux Kustomization (`namespace/name`) that applies it. */
  owner: string;
  from: AppliedObject;
  /** Pods to place, or one on every node the pod may run on (DaemonSets). */
  replicas: number | "every-node";
  rules: PodRules;
  resources: PodResources;
  /** Linkerd's injector adds its proxy to these pods (counted in `resources`). */
  meshed: boolean;
}

const record = (v: unknown): Record<string, string> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : {};
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const count = (v: unknown, fallback: number): number => (typeof v === "number" && v >= 0 ? v : fallback);

/** The scheduling rules of a pod spec; `labels` are the pod's own (its template's). */
export function podRules(spec: unknown, labels: unknown): PodRules {
  return {
    labels: record(labels),
    nodeSelector: record(get(spec, "nodeSelector")),
    nodeTerms: list(
      get(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"),
    ),
    tolerations: list(get(spec, "tolerations")),
    affinity: list(get(spec, "affinity", "podAffinity", "requiredDuringSchedulingIgnoredDuringExecution")),
    antiAffinity: list(get(spec, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")),
    spread: list<SpreadConstraint & { whenUnsatisfiable?: string }>(get(spec, "topologySpreadConstraints")).filter(
      (c) => c.whenUnsatisfiable === "DoNotSchedule",
    ),
  };
}

export interface PodSource {
  replicas: number | "every-node";
  spec: unknown;
  labels: unknown;
  annotations?: unknown;
}

/** Kinds whose pod template is at spec.template (or spec.jobTemplate for CronJobs). */
export function templatePods(o: Obj): PodSource | undefined {
  const template = (path: string[]) => ({
    spec: get(o, ...path, "spec"),
    labels: get(o, ...path, "metadata", "labels"),
    annotations: get(o, ...path, "metadata", "annotations"),
  });
  switch (o.kind) {
    case "Deployment":
    case "StatefulSet":
    case "ReplicaSet":
      return { replicas: count(get(o, "spec", "replicas"), 1), ...template(["spec", "template"]) };
    case "DaemonSet":
      return { replicas: "every-node", ...template(["spec", "template"]) };
    // A Job is counted as one pod at a time, a CronJob as the one Job it runs at a time.
    case "Job":
      return { replicas: 1, ...template(["spec", "template"]) };
    case "CronJob":
      return { replicas: 1, ...template(["spec", "jobTemplate", "spec", "template"]) };
    case "Pod":
      return {
        replicas: 1,
        spec: get(o, "spec"),
        labels: get(o, "metadata", "labels"),
        annotations: get(o, "metadata", "annotations"),
      };
    default:
      return undefined;
  }
}

/** One pod spec with a single container sized by `resources`, as an operator builds it. */
function operatorPod(containers: { name: string; resources: unknown }[], scheduling: unknown): unknown {
  return {
    containers: containers.map((c) => ({ name: c.name, ...(c.resources ? { resources: c.resources } : {}) })),
    ...(scheduling && typeof scheduling === "object" ? scheduling : {}),
  };
}

/**
 * Custom resources whose pods are clear from the object. Each cites where its operator takes the
 * numbers from; anything an operator adds on its own (defaults, extra sidecars) is not counted.
 */
function operatorPods(o: Obj): PodSource | undefined {
  const group = groupOf(o);
  const name = nameOf(o);
  // CloudNativePG: `instances` pods (default 1), container `postgres` with spec.resources; scheduling
  // from spec.affinity (nodeSelector, tolerations, nodeAffinity); podAntiAffinityType `required`
  // keeps instances on distinct `topologyKey` domains (default kubernetes.io/hostname).
  if (group === "postgresql.cnpg.io" && o.kind === "Cluster") {
    const aff = get(o, "spec", "affinity");
    const required =
      get(aff, "enablePodAntiAffinity") !== false && get(aff, "podAntiAffinityType") === "required"
        ? [
            {
              labelSelector: { matchLabels: { "cnpg.io/cluster": name } },
              topologyKey: str(aff, "topologyKey") ?? "kubernetes.io/hostname",
            },
          ]
        : [];
    return {
      replicas: count(get(o, "spec", "instances"), 1),
      labels: { ...record(get(o, "spec", "inheritedMetadata", "labels")), "cnpg.io/cluster": name },
      annotations: get(o, "spec", "inheritedMetadata", "annotations"),
      spec: operatorPod([{ name: "postgres", resources: get(o, "spec", "resources") }], {
        nodeSelector: get(aff, "nodeSelector"),
        tolerations: get(aff, "tolerations"),
        affinity: {
          nodeAffinity: get(aff, "nodeAffinity"),
          podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: required },
        },
      }),
    };
  }
  // Keycloak operator: `instances` pods (default 1), container `keycloak` with spec.resources;
  // scheduling from spec.scheduling, or the unsupported pod template when that sets it.
  if (group === "k8s.keycloak.org" && o.kind === "Keycloak") {
    const template = get(o, "spec", "unsupported", "podTemplate", "spec");
    const scheduling = get(o, "spec", "scheduling") ?? template;
    return {
      replicas: count(get(o, "spec", "instances"), 1),
      labels: { ...record(get(o, "spec", "unsupported", "podTemplate", "metadata", "labels")), app: "keycloak" },
      annotations: get(o, "spec", "unsupported", "podTemplate", "metadata", "annotations"),
      spec: operatorPod([{ name: "keycloak", resources: get(o, "spec", "resources") }], {
        nodeSelector: get(scheduling, "nodeSelector"),
        tolerations: get(scheduling, "tolerations"),
        affinity: get(scheduling, "affinity"),
        topologySpreadConstraints: get(scheduling, "topologySpreadConstraints"),
      }),
    };
  }
  // VictoriaMetrics operator: VMSingle is one pod; VMAgent, VMAlert and VMAlertmanager `replicaCount` pods
  // (default 1) with the config-reloader beside them, sized by spec.configReloaderResources.
  const vmKind = String(o.kind);
  if (group === "operator.victoriametrics.com" && vmKinds.includes(vmKind)) {
    const spec = get(o, "spec");
    const reloaded = vmKind !== "VMSingle";
    const main = vmKind === "VMAlertmanager" ? "alertmanager" : vmKind.toLowerCase();
    const containers = [{ name: main, resources: get(spec, "resources") }];
    if (reloaded) containers.push({ name: "config-reloader", resources: get(spec, "configReloaderResources") });
    return {
      replicas: reloaded ? count(get(spec, "replicaCount"), 1) : 1,
      labels: get(spec, "podMetadata", "labels"),
      annotations: get(spec, "podMetadata", "annotations"),
      spec: operatorPod(containers, {
        nodeSelector: get(spec, "nodeSelector"),
        tolerations: get(spec, "tolerations"),
        affinity: get(spec, "affinity"),
        topologySpreadConstraints: get(spec, "topologySpreadConstraints"),
      }),
    };
  }
  return undefined;
}

/** The VictoriaMetrics operator's kinds whose pods are counted. */
const vmKinds = ["VMSingle", "VMAgent", "VMAlert", "VMAlertmanager"];

/** Kinds read, for the plan's footnote. */
export const coveredKinds = [
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "Job",
  "CronJob",
  "Pod",
  "postgresql.cnpg.io Cluster",
  "k8s.keycloak.org Keycloak",
  "operator.victoriametrics.com VMSingle",
  "operator.victoriametrics.com VMAgent",
  "operator.victoriametrics.com VMAlert",
  "operator.victoriametrics.com VMAlertmanager",
] as const;

/** `parseYaml` reads the YAML inside objects (Linkerd's values in its ConfigMap); validate passes one that keeps. */
export function workloadsOf(applied: readonly AppliedObject[], parseYaml?: (text: string) => unknown): Workload[] {
  const mesh = linkerdProxy(applied, parseYaml);
  const out: Workload[] = [];
  for (const a of applied) {
    const pod = templatePods(a.object) ?? operatorPods(a.object);
    if (!pod) continue;
    const namespace = namespaceOf(a.object) ?? "default";
    const meshed =
      mesh !== undefined &&
      isMeshed(mesh, namespace, { labels: record(pod.labels), annotations: record(pod.annotations), spec: pod.spec });
    const spec = meshed && mesh ? withProxy(mesh, pod.spec) : pod.spec;
    out.push({
      kind: String(a.object.kind),
      namespace,
      name: nameOf(a.object),
      owner: a.owner,
      from: a,
      replicas: pod.replicas,
      rules: podRules(spec, pod.labels),
      resources: podResources(spec),
      meshed,
    });
  }
  return out;
}
