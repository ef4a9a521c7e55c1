// The capacity section of `ktsw plan`: per node, per layer, and the pods that fit nowhere.
import { table } from "../render/plan.ts";
import { describeWorkload } from "./findings.ts";
import type { CapacityPlan, LayerLoad } from "./index.ts";
import { formatCpu, formatMemory } from "./quantity.ts";
import { type Amounts, add, none } from "./resources.ts";
import type { NodeLoad } from "./schedule.ts";
import { coveredKinds } from "./workloads.ts";

const percent = (part: number, whole: number) => (whole === 0 ? "–" : `${Math.round((part / whole) * 100)}%`);
const bold = (cells: string[]) => cells.map((c) => (c ? `**${c}**` : c));

function nodeRow(
  name: string,
  role: string,
  load: Pick<NodeLoad, "requests" | "limits" | "pods">,
  alloc: Amounts & { pods: number },
  unbounded: boolean,
): string[] {
  const limitMark = unbounded ? "+" : "";
  return [
    name,
    role,
    `${load.pods} / ${alloc.pods}`,
    `${formatCpu(load.requests.cpu)} / ${formatCpu(alloc.cpu)} (${percent(load.requests.cpu, alloc.cpu)})`,
    `${formatMemory(load.requests.memory)} / ${formatMemory(alloc.memory)} (${percent(load.requests.memory, alloc.memory)})`,
    `${formatCpu(load.limits.cpu)}${limitMark}`,
    `${formatMemory(load.limits.memory)}${limitMark}`,
    `${formatCpu(alloc.cpu - load.requests.cpu)} CPU, ${formatMemory(alloc.memory - load.requests.memory)}`,
  ];
}

export function capacitySection(plan: CapacityPlan): string {
  const header = [
    "node",
    "role",
    "pods",
    "CPU requests",
    "memory requests",
    "CPU limits",
    "memory limits",
    "headroom (requests)",
  ];
  const rows = plan.nodes.map((l) => nodeRow(l.node.name, l.node.role, l, l.node.allocatable, l.unlimited.size > 0));
  const sum = plan.nodes.reduce(
    (acc, l) => ({
      requests: add(acc.requests, l.requests),
      limits: add(acc.limits, l.limits),
      pods: acc.pods + l.pods,
      alloc: { ...add(acc.alloc, l.node.allocatable), pods: acc.alloc.pods + l.node.allocatable.pods },
    }),
    { requests: none, limits: none, pods: 0, alloc: { ...none, pods: 0 } },
  );
  rows.push(
    bold(
      nodeRow(
        `total (${plan.nodes.length} nodes)`,
        "",
        sum,
        sum.alloc,
        plan.nodes.some((l) => l.unlimited.size > 0),
      ),
    ),
  );
  const layerRow = (l: Omit<LayerLoad, "layer">, name: string) => [
    name,
    String(l.pods),
    formatCpu(l.requests.cpu),
    formatMemory(l.requests.memory),
    `${formatCpu(l.limits.cpu)}${l.unlimited.has("cpu") ? "+" : ""}`,
    `${formatMemory(l.limits.memory)}${l.unlimited.has("memory") ? "+" : ""}`,
    percent(l.requests.memory, sum.requests.memory),
  ];
  const layerRows = plan.layers.map((l) => layerRow(l, l.layer));
  const all = {
    pods: sum.pods,
    requests: sum.requests,
    limits: sum.limits,
    unlimited: new Set(plan.layers.flatMap((l) => [...l.unlimited])),
  };
  layerRows.push(bold(layerRow(all, `total (${plan.layers.length} layers)`)));
  const unplaced =
    plan.unplaced.length === 0
      ? "Every pod has a node."
      : [
          `**${plan.unplaced.length} pod${plan.unplaced.length === 1 ? "" : "s"} fit on no node:**`,
          "",
          ...plan.unplaced.map((p) => `- ${describeWorkload(p.workload)} pod ${p.replica + 1}: ${p.reason}`),
        ].join("\n");
  const meshed = plan.workloads.filter((w) => w.meshed).map((w) => `${w.namespace}/${w.name}`);
  return [
    "## Capacity",
    "",
    // What the plan stands on: with the charts unrendered, their pods are missing from it.
    ...(plan.charts ? [`${plan.charts[0]?.toUpperCase()}${plan.charts.slice(1)}.`, ""] : []),
    "Pods of every workload Flux applies, placed on the nodes above by their requests: taints, node selectors and affinity, required pod (anti-)affinity and DoNotSchedule topology spread honoured; DaemonSets on every node they may run on; otherwise the least allocated node. Allocatable is the VM's cores and memory (no system reserve, k3s sets no memory eviction threshold) and 110 pods. A `+` after limits: some pod there has no limit on that resource, so the sum is a lower bound.",
    "",
    table(header, rows),
    "",
    "### Per layer",
    "",
    table(
      ["layer", "pods", "CPU requests", "memory requests", "CPU limits", "memory limits", "share of memory requests"],
      layerRows,
    ),
    "",
    unplaced,
    "",
    `Read: ${coveredKinds.join(", ")}. With Linkerd's proxy, as its injector adds it: ${meshed.length ? meshed.join(", ") : "none"}.`,
    "",
  ].join("\n");
}
