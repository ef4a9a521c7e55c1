// What `ktsw sim status` reports, read from the API's own lists: nodes, pods the scheduler could not place (with its
// reason), and Flux's Kustomizations and HelmReleases with their Ready condition. Pure: lists in, rows out.

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface Item {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { taints?: { key: string; value?: string; effect: string }[]; nodeName?: string };
  status?: { conditions?: Condition[]; allocatable?: Record<string, string>; phase?: string };
}

export interface KubeList {
  items?: Item[];
}

export interface NodeRow {
  name: string;
  ready: boolean;
  roles: string[];
  allocatable: { cpu: string; memory: string; pods: string };
  taints: string[];
}

export interface PendingPod {
  namespace: string;
  name: string;
  /** The scheduler's reason (`Unschedulable`), or `NotScheduledYet` while it has not looked at the pod. */
  reason: string;
  message: string;
}

export interface FluxRow {
  kind: string;
  namespace: string;
  name: string;
  ready: boolean;
  reason: string;
  message: string;
}

const condition = (item: Item, type: string) => item.status?.conditions?.find((c) => c.type === type);
const rolePrefix = "node-role.kubernetes.io/";

export function nodeRows(list: KubeList): NodeRow[] {
  return (list.items ?? []).map((n) => ({
    name: n.metadata?.name ?? "",
    ready: condition(n, "Ready")?.status === "True",
    roles: Object.keys(n.metadata?.labels ?? {})
      .filter((l) => l.startsWith(rolePrefix))
      .map((l) => l.slice(rolePrefix.length))
      .sort(),
    allocatable: {
      cpu: n.status?.allocatable?.cpu ?? "",
      memory: n.status?.allocatable?.memory ?? "",
      pods: n.status?.allocatable?.pods ?? "",
    },
    taints: (n.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`),
  }));
}

export function pendingPods(list: KubeList): PendingPod[] {
  return (list.items ?? [])
    .filter((p) => p.status?.phase === "Pending" && !p.spec?.nodeName)
    .map((p) => {
      const scheduled = condition(p, "PodScheduled");
      return {
        namespace: p.metadata?.namespace ?? "",
        name: p.metadata?.name ?? "",
        reason: scheduled?.status === "False" ? (scheduled.reason ?? "Unschedulable") : "NotScheduledYet",
        message: scheduled?.message ?? "",
      };
    });
}

export function fluxRows(kind: string, list: KubeList): FluxRow[] {
  return (list.items ?? []).map((o) => {
    const ready = condition(o, "Ready");
    return {
      kind,
      namespace: o.metadata?.namespace ?? "",
      name: o.metadata?.name ?? "",
      ready: ready?.status === "True",
      reason: ready?.reason ?? "NoReadyCondition",
      message: ready?.message ?? "",
    };
  });
}

export interface ProcessRow {
  name: string;
  pid: number;
  running: boolean;
}

export interface SimStatus {
  /** Every process `up` started is running and `up` finished. */
  running: boolean;
  dir: string;
  kubeconfig?: string;
  apiServer?: string;
  processes: ProcessRow[];
  nodes: NodeRow[];
  pendingPods: PendingPod[];
  /** Empty until Flux's CRDs exist in the sim. */
  flux: FluxRow[];
}

export function formatStatus(s: SimStatus): string[] {
  if (s.processes.length === 0) return [`no sim in ${s.dir} (\`ktsw sim up\` starts one)`];
  const lines = [
    `sim in ${s.dir}: ${s.running ? "running" : "NOT running"}${s.apiServer ? ` at ${s.apiServer}` : ""}`,
    ...(s.kubeconfig ? [`kubeconfig: ${s.kubeconfig}`] : []),
    `processes: ${s.processes.map((p) => `${p.name} ${p.running ? `(pid ${p.pid})` : "(stopped)"}`).join(", ")}`,
    `nodes (${s.nodes.filter((n) => n.ready).length}/${s.nodes.length} Ready):`,
    ...s.nodes.map(
      (n) =>
        `  ${n.name} ${n.ready ? "Ready" : "NotReady"} roles=${n.roles.join(",") || "-"} cpu=${n.allocatable.cpu} memory=${n.allocatable.memory} pods=${n.allocatable.pods}${n.taints.length ? ` taints=${n.taints.join(",")}` : ""}`,
    ),
    `pods Pending without a node: ${s.pendingPods.length}`,
    ...s.pendingPods.map((p) => `  ${p.namespace}/${p.name}: ${p.reason}${p.message ? `: ${p.message}` : ""}`),
  ];
  if (s.flux.length > 0) {
    lines.push(`Flux (${s.flux.filter((f) => f.ready).length}/${s.flux.length} Ready):`);
    for (const f of s.flux) {
      lines.push(
        `  ${f.kind} ${f.namespace}/${f.name}: ${f.ready ? "Ready" : "NotReady"} ${f.reason}${f.message ? `: ${f.message}` : ""}`,
      );
    }
  }
  return lines;
}
