// The capacity plan as `ktsw validate` findings: a pod that finds no node, and a container without
// requests (the plan, like the scheduler, would count it as free), each at the workload's source:
// its manifest, or the HelmRelease that renders it.
import { type Finding, finding } from "../diagnostics.ts";
import { isHelmHook } from "../validate/flux.ts";
import type { CapacityPlan } from "./index.ts";
import { formatCpu, formatMemory } from "./quantity.ts";
import type { Workload } from "./workloads.ts";

function locate(w: Workload) {
  const src = w.from.source;
  return { file: src?.file ?? w.owner, line: src?.line ?? 0, col: src?.col ?? 0 };
}

export function describeWorkload(w: Workload): string {
  const chart = w.from.chart ? ` (chart ${w.from.chart.chart} ${w.from.chart.version})` : "";
  return `${w.kind} ${w.namespace}/${w.name}${chart}`;
}

export function capacityFindings(plan: CapacityPlan): Finding[] {
  const out: Finding[] = [];
  for (const w of plan.workloads) {
    for (const p of w.resources.problems) {
      if (p.kind === "no-request" && isHelmHook(w.from.object)) {
        // Nothing in Git can give a hook requests the chart did not: Helm runs hooks outside the
        // release manifest, so postRenderers never reach them. It runs briefly; say so, not fail.
        const message = `${describeWorkload(w)}: container ${p.container} ${p.message}; it is a Helm hook, which postRenderers do not reach, so it runs without one while Helm runs it`;
        out.push(finding(locate(w), message, "capacity.no-requests", "warning"));
        continue;
      }
      const message =
        p.kind === "no-request"
          ? `${describeWorkload(w)}: container ${p.container} ${p.message}; the capacity plan cannot count it (set resources.requests)`
          : `${describeWorkload(w)}: container ${p.container} ${p.message}`;
      out.push(finding(locate(w), message, p.kind === "no-request" ? "capacity.no-requests" : "capacity.quantity"));
    }
    const unplaced = plan.unplaced.filter((p) => p.workload === w);
    if (unplaced.length === 0) continue;
    const total = w.replicas === "every-node" ? plan.placements.filter((p) => p.workload === w).length : w.replicas;
    const reasons = [...new Set(unplaced.map((p) => p.reason))].join("; ");
    out.push(
      finding(
        locate(w),
        `${describeWorkload(w)}: ${unplaced.length} of ${total} pod${total === 1 ? "" : "s"} fit on no node of ktsw.yaml: ${reasons}`,
        "capacity.does-not-fit",
      ),
    );
  }
  return out;
}

/** One line for validate's notes: how full the cluster is by requests. */
export function capacitySummary(plan: CapacityPlan): string {
  const sum = (f: (l: CapacityPlan["nodes"][number]) => number) => plan.nodes.reduce((acc, l) => acc + f(l), 0);
  const placed = plan.placements.length - plan.unplaced.length;
  const cpu = `${formatCpu(sum((l) => l.requests.cpu))} of ${formatCpu(sum((l) => l.node.allocatable.cpu))} CPU`;
  const memory = `${formatMemory(sum((l) => l.requests.memory))} of ${formatMemory(sum((l) => l.node.allocatable.memory))} memory`;
  const misfits = plan.unplaced.length ? `, ${plan.unplaced.length} fit nowhere` : "";
  return `capacity: ${placed} pods placed on ${plan.nodes.length} nodes by requests, ${cpu}, ${memory}${misfits} (ktsw plan shows per node and layer)`;
}
