// `ktsw sim drill node-loss`: a VM gone. The Node is deleted (its pods are left bound to a node that no longer
// exists, as when a VM dies; the controller manager's pod garbage collector removes them after its quarantine and
// their controllers recreate them), the drill waits until every Deployment and StatefulSet that ran there is
// available again on the remaining nodes (or stuck Pending with the scheduler's reason), then puts the Node back as
// `sim up` made it, so the sim is whole again. The analysis is node-loss-report.ts; this is the I/O around it.
import { performance } from "node:perf_hooks";
import type { KtswConfig } from "../../config/schema.ts";
import { poll } from "../../lab/net/poll.ts";
import { simToolVersion } from "../../tools/find.ts";
import type { Kubectl } from "../kubectl.ts";
import { kwokNode } from "../nodes.ts";
import { nodeRows } from "../status.ts";
import {
  type ApiList,
  budgetRows,
  type NodeLossReport,
  outcomes,
  pickNode,
  settled,
  type WorkloadOutcome,
  workloadId,
  workloadsOn,
} from "./node-loss-report.ts";

export interface NodeLossOptions {
  kubectl: Kubectl;
  config: KtswConfig;
  /** The node to lose; default: the worker running the most pods. */
  node?: string;
  progress: (line: string) => void;
  /** How long the pods may take to be available again, and the node to come back. */
  timeoutMs: number;
  /** Ctrl-C: stop waiting, put the node back, and report what was seen so far. */
  signal?: AbortSignal;
}

const list = async (kubectl: Kubectl, resource: string): Promise<ApiList> =>
  JSON.parse(await kubectl(["get", resource, "-A", "-o", "json"]));

/** Puts the node back from ktsw.yaml, as `sim up` creates it, and waits until kwok reports it Ready and the node
 *  lifecycle controller has lifted its not-ready taints. */
export async function restoreNode(o: Pick<NodeLossOptions, "kubectl" | "config" | "timeoutMs">, name: string) {
  const vm = o.config.nodes.find((n) => n.name === name);
  if (!vm) throw new Error(`node ${name} is not a VM of ktsw.yaml: the drill cannot put it back`);
  const node = kwokNode(o.config, vm, simToolVersion("kube-apiserver"));
  await o.kubectl(["create", "-f", "-"], JSON.stringify(node));
  await poll(
    `node ${name} to be Ready and schedulable again`,
    async () => nodeRows(JSON.parse(await o.kubectl(["get", "nodes", "-o", "json"]))).find((n) => n.name === name),
    (row) => !!row?.ready && !row.taints.some((t) => t.startsWith("node.kubernetes.io/")),
    { timeoutMs: o.timeoutMs, everyMs: 1_000 },
  );
}

export async function nodeLoss(o: NodeLossOptions): Promise<NodeLossReport> {
  const before = {
    nodes: await list(o.kubectl, "nodes"),
    pods: await list(o.kubectl, "pods"),
    replicaSets: await list(o.kubectl, "replicasets"),
  };
  const node = pickNode(before, o.node);
  const affected = workloadsOn(before, node);
  const budgets = budgetRows(await list(o.kubectl, "poddisruptionbudgets"), before.pods, node);
  o.progress(`deleting Node ${node} (${affected.reduce((n, w) => n + w.lostPods.length, 0)} pods ran on it)`);
  o.signal?.throwIfAborted();
  const t0 = performance.now();
  await o.kubectl(["delete", "node", node]);
  const at = () => ((performance.now() - t0) / 1000).toFixed(1);
  let last: WorkloadOutcome[] = [];
  let settledSeconds: number | undefined;
  const seen = new Map<string, string>();
  try {
    await poll(
      "every workload of the lost node to be available again on the remaining nodes",
      async () => {
        last = outcomes(
          affected,
          {
            pods: await list(o.kubectl, "pods"),
            replicaSets: await list(o.kubectl, "replicasets"),
            deployments: await list(o.kubectl, "deployments"),
            statefulSets: await list(o.kubectl, "statefulsets"),
          },
          node,
        );
        for (const w of last) {
          if (seen.get(workloadId(w)) === w.state) continue;
          seen.set(workloadId(w), w.state);
          if (w.state === "rescheduled") o.progress(`${at()} s  ✓ ${workloadId(w)} available again`);
        }
        return last;
      },
      settled,
      { timeoutMs: o.timeoutMs, everyMs: 1_000, ...(o.signal ? { signal: o.signal } : {}) },
    )
      .then(() => {
        settledSeconds = (performance.now() - t0) / 1000;
      })
      .catch(() => undefined);
    const interrupted = o.signal?.aborted === true;
    const whole = !interrupted && last.every((w) => w.state !== "waiting");
    const seconds = (performance.now() - t0) / 1000;
    return {
      node,
      budgets,
      workloads: last,
      ...(whole ? { seconds } : {}),
      ...(settledSeconds !== undefined ? { settledSeconds } : {}),
      ...(interrupted ? { interrupted } : {}),
    };
  } finally {
    // Also after Ctrl-C: the sim is left whole (the restore itself is not interruptible but by a second Ctrl-C).
    o.progress(`putting Node ${node} back as ktsw.yaml sizes it`);
    await restoreNode(o, node);
    o.progress(`${at()} s  node ${node} Ready again`);
  }
}
