// `ktsw plan` is a model of the scheduler; the sim runs the real one. This sets them side by side for each workload
// of the plan: the pods the plan places and what each asks for, against the pods the sim's scheduler bound and what
// each of those asks for. Which node each pod lands on is not compared: the plan packs in the tree's order, the
// scheduler spreads by its scores; both must place every pod, with the same requests. Pure: plan and the API's
// lists in, rows out.
import type { CapacityPlan } from "../capacity/index.ts";
import { K3S_OWNER } from "../capacity/k3s-addons.ts";
import { formatCpu, formatMemory } from "../capacity/quantity.ts";
import { type Amounts, podResources } from "../capacity/resources.ts";
import { templatePods, type Workload } from "../capacity/workloads.ts";

interface OwnerRef {
  kind: string;
  name: string;
}
interface Meta {
  name: string;
  namespace?: string;
  ownerReferences?: OwnerRef[];
  deletionTimestamp?: string;
}
type Container = { name: string; resources?: unknown };
export interface ApiPod {
  metadata: Meta;
  spec: { nodeName?: string; containers?: Container[]; initContainers?: Container[] };
  status?: { phase?: string; conditions?: { type: string; reason?: string; message?: string }[] };
}
export interface SimLists {
  pods: { items: ApiPod[] };
  replicaSets: { items: { metadata: Meta }[] };
}

/** Why a workload of the plan has no pods on the sim, when that is expected. */
export type Absence =
  /** Its pods are made by an operator, which kwok only pretends to run. */
  | "operator-made"
  /** k3s starts it itself; the sim runs no k3s. */
  | "k3s add-on"
  /** The Kustomization that applies it is not Ready on the sim (an exception, or waiting on one). */
  | "owner not Ready"
  /** A Helm hook's Job: helm-controller deletes it once it succeeded. */
  | "Helm hook, deleted once it succeeded";

export interface AgreementRow {
  workload: string;
  /** Pods the plan places, and what each asks for. */
  plan: { pods: number; requests: Amounts };
  /** Pods the sim's scheduler bound (and left Pending), and what each asks for. */
  sim?: { bound: number; pending: number; requests: Amounts; meshedHere: boolean };
  verdict: "agree" | "differs" | "not compared";
  why: string;
}

export interface Agreement {
  rows: AgreementRow[];
  /** Both place every pod: the plan leaves none unplaced, and no pod of the sim waits for room. */
  bothFit: boolean;
  /** Pods the sim's scheduler left Pending for lack of room (`Insufficient ...`). */
  noRoom: number;
  /** Pods the plan finds no node for. */
  unplaced: number;
}

const operatorKinds = new Set(["Cluster", "Keycloak", "VMSingle", "VMAgent", "VMAlert", "VMAlertmanager"]);
const id = (kind: string, namespace: string | undefined, name: string) => `${kind} ${namespace ?? "default"}/${name}`;
const same = (a: Amounts, b: Amounts) => a.cpu === b.cpu && a.memory === b.memory;
const amounts = (a: Amounts) => `${formatCpu(a.cpu)} CPU, ${formatMemory(a.memory)}`;
const finished = (p: ApiPod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
/** A Job's pods end: how many run at once is not a place held, so only what each asks for is compared. */
const runsToCompletion = new Set(["Job", "CronJob"]);

/** The workload a pod belongs to, as the plan names workloads (`Deployment ns/name` for a ReplicaSet's pod). */
function workloadOfPod(pod: ApiPod, replicaSets: SimLists["replicaSets"]): string {
  const ns = pod.metadata.namespace;
  const owner = pod.metadata.ownerReferences?.[0];
  if (!owner) return id("Pod", ns, pod.metadata.name);
  if (owner.kind === "ReplicaSet") {
    const rs = replicaSets.items.find((r) => r.metadata.name === owner.name && r.metadata.namespace === ns);
    const deployment = rs?.metadata.ownerReferences?.find((o) => o.kind === "Deployment");
    if (deployment) return id("Deployment", ns, deployment.name);
  }
  return id(owner.kind, ns, owner.name);
}

const unscheduledReason = (p: ApiPod) => {
  const c = p.status?.conditions?.find((x) => x.type === "PodScheduled");
  return c?.message ?? c?.reason ?? "not scheduled yet";
};

const hasProxy = (p: ApiPod) =>
  [...(p.spec.containers ?? []), ...(p.spec.initContainers ?? [])].some((c) => c.name === "linkerd-proxy");

/** What one pod of the workload asks for without Linkerd's proxy: the pod template as written. */
function unmeshedRequests(w: Workload): Amounts | undefined {
  const pod = templatePods(w.from.object);
  return pod ? podResources(pod.spec).requests : undefined;
}

const annotations = (w: Workload): Record<string, unknown> =>
  (w.from.object.metadata as { annotations?: Record<string, unknown> } | undefined)?.annotations ?? {};

function absence(w: Workload, readyOwners: ReadonlySet<string>): Absence | undefined {
  if (operatorKinds.has(w.kind)) return "operator-made";
  if (w.kind === "Job" && annotations(w)["helm.sh/hook"] !== undefined) return "Helm hook, deleted once it succeeded";
  if (w.owner === K3S_OWNER) return "k3s add-on";
  if (!readyOwners.has(w.owner)) return "owner not Ready";
  return undefined;
}

/**
 * Compares the plan with the sim. `readyOwners` holds the Kustomizations Ready on the sim (`namespace/name`, as the
 * plan names owners); `noRoomPods` counts the sim's pods the scheduler left Pending for lack of room.
 */
export function compareWithScheduler(
  plan: CapacityPlan,
  lists: SimLists,
  readyOwners: ReadonlySet<string>,
  noRoomPods: number,
): Agreement {
  const podsOf = new Map<string, ApiPod[]>();
  for (const pod of lists.pods.items) {
    if (pod.metadata.deletionTimestamp) continue;
    const key = workloadOfPod(pod, lists.replicaSets);
    if (finished(pod) && !runsToCompletion.has(key.slice(0, key.indexOf(" ")))) continue;
    podsOf.set(key, [...(podsOf.get(key) ?? []), pod]);
  }
  const rows = plan.workloads.map((w): AgreementRow => {
    const key = id(w.kind, w.namespace, w.name);
    const placed = plan.placements.filter((p) => p.workload === w && p.node).length;
    const planned = { pods: placed, requests: w.resources.requests };
    const pods = podsOf.get(key) ?? [];
    if (pods.length === 0) {
      const why = absence(w, readyOwners);
      return {
        workload: key,
        plan: planned,
        verdict: why ? "not compared" : "differs",
        why: why ? `not on the sim: ${why}` : "the plan places pods the sim does not have",
      };
    }
    const first = pods[0] as ApiPod;
    const sim = {
      bound: pods.filter((p) => p.spec.nodeName).length,
      pending: pods.filter((p) => !p.spec.nodeName).length,
      requests: podResources(first.spec).requests,
      meshedHere: hasProxy(first),
    };
    // The sim runs no Linkerd injector (its webhook is relaxed): a meshed workload's pods come without the proxy.
    const expected = w.meshed && !sim.meshedHere ? (unmeshedRequests(w) ?? planned.requests) : planned.requests;
    const pendingWhy = [...new Set(pods.filter((p) => !p.spec.nodeName).map(unscheduledReason))];
    const pendingText = pendingWhy.length ? ` (Pending: ${pendingWhy.join("; ")})` : "";
    const problems = [
      ...(sim.bound !== planned.pods && !runsToCompletion.has(w.kind)
        ? [`the plan places ${planned.pods} pods, the scheduler bound ${sim.bound}${pendingText}`]
        : []),
      ...(!same(sim.requests, expected)
        ? [`a pod asks for ${amounts(sim.requests)} on the sim, ${amounts(expected)} in the plan`]
        : []),
    ];
    // What a Kustomization the sim could not make Ready applies is not the plan's to answer for (sim/exceptions.ts).
    const held = problems.length > 0 && absence(w, readyOwners) === "owner not Ready";
    return {
      workload: key,
      plan: planned,
      sim,
      verdict: problems.length === 0 ? "agree" : held ? "not compared" : "differs",
      why:
        (held ? `its Kustomization is not Ready on the sim: ${problems.join("; ")}` : problems.join("; ")) ||
        (w.meshed && !sim.meshedHere ? "agree, without Linkerd's proxy (no injector on the sim)" : ""),
    };
  });
  return {
    rows,
    bothFit: plan.unplaced.length === 0 && noRoomPods === 0,
    noRoom: noRoomPods,
    unplaced: plan.unplaced.length,
  };
}

export function formatAgreement(a: Agreement): string[] {
  const mark = { agree: "✓", differs: "✗", "not compared": "-" } as const;
  const count = (v: AgreementRow["verdict"]) => a.rows.filter((r) => r.verdict === v).length;
  return [
    "the capacity plan beside the sim's scheduler (pods placed, requests per pod):",
    ...a.rows.map((r) => {
      const sim = r.sim ? `sim ${r.sim.bound}${r.sim.pending ? ` (+${r.sim.pending} Pending)` : ""}` : "sim -";
      return `  ${mark[r.verdict]} ${r.workload}: plan ${r.plan.pods}, ${sim}${r.why ? `: ${r.why}` : ""}`;
    }),
    `${count("agree")} agree, ${count("differs")} differ, ${count("not compared")} not compared; ${
      a.bothFit
        ? "both place every pod"
        : `NOT both fit: ${a.noRoom} pods of the sim wait for room, the plan leaves ${a.unplaced} unplaced`
    }`,
  ];
}

export const agrees = (a: Agreement) => a.bothFit && a.rows.every((r) => r.verdict !== "differs");
