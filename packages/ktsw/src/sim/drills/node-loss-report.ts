// The node-loss drill's analysis (the seed's chaos experiment 3): which node to lose, which workloads ran pods on
// it, whether the PodDisruptionBudgets allowed losing them, and, after the loss, whether each workload is whole
// again or which of its pods could not move and why. Pure: the API's lists in, rows out.
import { selectorMatches } from "../../capacity/rules.ts";
import type { LabelSelector } from "../../capacity/workloads.ts";
import { type KubeList, pendingPods } from "../status.ts";

interface OwnerRef {
  kind?: string;
  name?: string;
  controller?: boolean;
}

interface Obj {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: OwnerRef[] };
  spec?: { nodeName?: string; replicas?: number; selector?: LabelSelector };
  status?: {
    phase?: string;
    availableReplicas?: number;
    numberAvailable?: number;
    desiredNumberScheduled?: number;
    disruptionsAllowed?: number;
  };
}

/** An API list as kubectl prints it; its items are read through Obj's fields. */
export interface ApiList {
  items?: readonly object[];
}

export interface Lists {
  nodes: ApiList;
  pods: ApiList;
  replicaSets: ApiList;
}

export interface WorkloadRef {
  kind: string;
  namespace: string;
  name: string;
}

export const workloadId = (w: WorkloadRef) => `${w.kind} ${w.namespace}/${w.name}`;

const items = (list: ApiList) => (list.items ?? []) as Obj[];
const nameOf = (o: Obj) => o.metadata?.name ?? "";
const namespaceOf = (o: Obj) => o.metadata?.namespace ?? "";
const isControlPlane = (n: Obj) => Object.hasOwn(n.metadata?.labels ?? {}, "node-role.kubernetes.io/control-plane");
/** Pods that hold a place on a node: finished ones (a completed Job's) hold none. */
const holdsPlace = (p: Obj) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";

export function podsOn(pods: ApiList, node: string): Obj[] {
  return items(pods).filter((p) => p.spec?.nodeName === node && holdsPlace(p));
}

/** The node to lose: the one asked for (it must exist), else the worker running the most pods. */
export function pickNode(lists: Pick<Lists, "nodes" | "pods">, asked?: string): string {
  const nodes = items(lists.nodes);
  if (asked !== undefined) {
    if (!nodes.some((n) => nameOf(n) === asked)) {
      throw new Error(`no node ${asked} in the sim (nodes: ${nodes.map(nameOf).join(", ")})`);
    }
    return asked;
  }
  const workers = nodes.filter((n) => !isControlPlane(n)).map(nameOf);
  const [busiest] = workers
    .map((name) => ({ name, pods: podsOn(lists.pods, name).length }))
    .sort((a, b) => b.pods - a.pods || a.name.localeCompare(b.name));
  if (!busiest) throw new Error("the sim has no worker node to lose (--node names one)");
  return busiest.name;
}

/** The workload that owns a pod: a ReplicaSet's Deployment, a StatefulSet, a DaemonSet, a Job; or the pod itself. */
export function ownerOf(pod: Obj, replicaSets: ApiList): WorkloadRef {
  const namespace = namespaceOf(pod);
  const ref = pod.metadata?.ownerReferences?.find((o) => o.controller);
  if (!ref?.kind || !ref.name) return { kind: "Pod", namespace, name: nameOf(pod) };
  if (ref.kind === "ReplicaSet") {
    const rs = items(replicaSets).find((r) => nameOf(r) === ref.name && namespaceOf(r) === namespace);
    const deployment = rs?.metadata?.ownerReferences?.find((o) => o.controller && o.kind === "Deployment");
    if (deployment?.name) return { kind: "Deployment", namespace, name: deployment.name };
  }
  return { kind: ref.kind, namespace, name: ref.name };
}

export interface AffectedWorkload extends WorkloadRef {
  /** Its pods that ran on the lost node. */
  lostPods: string[];
}

/** The workloads with pods on the node, each once, with those pods. */
export function workloadsOn(lists: Lists, node: string): AffectedWorkload[] {
  const byId = new Map<string, AffectedWorkload>();
  for (const pod of podsOn(lists.pods, node)) {
    const owner = ownerOf(pod, lists.replicaSets);
    const row = byId.get(workloadId(owner)) ?? { ...owner, lostPods: [] };
    row.lostPods.push(nameOf(pod));
    byId.set(workloadId(owner), row);
  }
  return [...byId.values()].sort((a, b) => workloadId(a).localeCompare(workloadId(b)));
}

export interface BudgetRow {
  namespace: string;
  name: string;
  /** How many of its pods the node took with it. */
  lost: number;
  /** status.disruptionsAllowed before the loss. */
  allowed: number;
  within: boolean;
}

/** Each PodDisruptionBudget that selects a pod of the lost node: did the loss stay within what it allows? */
export function budgetRows(pdbs: ApiList, pods: ApiList, node: string): BudgetRow[] {
  const lost = podsOn(pods, node);
  return items(pdbs)
    .map((pdb) => {
      const selected = lost.filter(
        (p) => namespaceOf(p) === namespaceOf(pdb) && selectorMatches(pdb.spec?.selector, p.metadata?.labels ?? {}),
      ).length;
      const allowed = pdb.status?.disruptionsAllowed ?? 0;
      return { namespace: namespaceOf(pdb), name: nameOf(pdb), lost: selected, allowed, within: selected <= allowed };
    })
    .filter((row) => row.lost > 0);
}

export type WorkloadState =
  /** Every replica available again, none left on the lost node. */
  | "rescheduled"
  /** A DaemonSet: one pod per node, so its pod goes with the node (and returns with it). */
  | "per-node"
  /** A bare pod or a finished-work owner: nothing recreates it elsewhere. */
  | "not-recreated"
  | "waiting";

export interface WorkloadOutcome extends AffectedWorkload {
  state: WorkloadState;
  /** Its pods the scheduler could not place, with its reason. */
  pending: { name: string; reason: string; message: string }[];
}

const recreatingKinds = new Set(["Deployment", "StatefulSet"]);

/** Available replicas of a Deployment or StatefulSet against what it asks for. */
function available(w: WorkloadRef, workloads: ApiList): boolean {
  const o = items(workloads).find((x) => nameOf(x) === w.name && namespaceOf(x) === w.namespace);
  if (!o) return false;
  return (o.status?.availableReplicas ?? 0) >= (o.spec?.replicas ?? 1);
}

/** After the loss: where each affected workload stands. `workloads` lists its Deployments and StatefulSets (the
 *  `kind` of each list item decides which is which). */
export function outcomes(
  affected: readonly AffectedWorkload[],
  now: { pods: ApiList; replicaSets: ApiList; deployments: ApiList; statefulSets: ApiList },
  lostNode: string,
): WorkloadOutcome[] {
  const pending = pendingPods(now.pods as KubeList);
  const podsOf = (w: WorkloadRef) =>
    items(now.pods).filter(
      (p) => namespaceOf(p) === w.namespace && workloadId(ownerOf(p, now.replicaSets)) === workloadId(w),
    );
  return affected.map((w) => {
    const mine = new Set(podsOf(w).map(nameOf));
    const stuck = pending
      .filter((p) => p.namespace === w.namespace && mine.has(p.name))
      .map(({ name, reason, message }) => ({ name, reason, message }));
    if (!recreatingKinds.has(w.kind)) {
      return { ...w, state: w.kind === "DaemonSet" ? "per-node" : "not-recreated", pending: stuck };
    }
    const list = w.kind === "Deployment" ? now.deployments : now.statefulSets;
    const onLostNode = podsOf(w).some((p) => p.spec?.nodeName === lostNode);
    const whole = available(w, list) && !onLostNode && stuck.length === 0;
    return { ...w, state: whole ? "rescheduled" : "waiting", pending: stuck };
  });
}

/** Done waiting: every workload that can move has (or is stuck Pending with the scheduler's reason). */
export const settled = (rows: readonly WorkloadOutcome[]) =>
  rows.every((r) => r.state !== "waiting" || r.pending.some((p) => p.reason === "Unschedulable"));

export interface NodeLossReport {
  node: string;
  budgets: BudgetRow[];
  workloads: WorkloadOutcome[];
  /** Seconds from the Node's deletion until every movable workload was available again (undefined: never). */
  seconds?: number;
  /** Seconds until every workload had either moved or had a pod the scheduler named Unschedulable: the drill's
   *  answer was known (undefined: the deadline came first). */
  settledSeconds?: number;
  /** Ctrl-C ended the wait early (the node was put back all the same). */
  interrupted?: boolean;
}

/** The drill passes when every Deployment and StatefulSet is whole again on the remaining nodes. */
export const passed = (r: NodeLossReport) => !r.interrupted && r.workloads.every((w) => w.state !== "waiting");

export function formatNodeLoss(r: NodeLossReport): string[] {
  const state: Record<WorkloadState, string> = {
    rescheduled: "✓ rescheduled on the remaining nodes",
    "per-node": "- one pod per node: went with the node, returns with it",
    "not-recreated": "- no controller recreates it elsewhere",
    waiting: "✗ NOT whole again",
  };
  return [
    `node ${r.node} lost: ${r.workloads.length} workloads had pods on it`,
    ...r.budgets.map(
      (b) =>
        `  PodDisruptionBudget ${b.namespace}/${b.name}: lost ${b.lost}, allowed ${b.allowed}: ${b.within ? "within budget" : "EXCEEDS its budget"}`,
    ),
    ...r.workloads.flatMap((w) => [
      `  ${workloadId(w)} (${w.lostPods.length} pod${w.lostPods.length === 1 ? "" : "s"} lost): ${state[w.state]}`,
      ...w.pending.map((p) => `    Pending ${p.name}: ${p.reason}${p.message ? `: ${p.message}` : ""}`),
    ]),
    r.interrupted
      ? "interrupted before every workload was available again"
      : r.seconds === undefined
        ? "not every workload was available again before the deadline"
        : `every movable workload available again ${r.seconds.toFixed(1)} s after the node was deleted`,
  ];
}
