// Places pods on nodes roughly the way kube-scheduler would, to tell whether the stack fits:
// - DaemonSet pods first, one on every node the pod may run on (node selector/affinity, taints):
//   the DaemonSet controller binds them to their node, and the networking layer comes first anyway;
// - then every other pod in the order Flux applies its workloads (layer by layer), replica by replica;
// - a node is feasible when it passes the scheduler's filters (taints, node selector/affinity,
//   requests vs allocatable CPU/memory/pods, DoNotSchedule topology spread, required pod
//   (anti-)affinity, also the anti-affinity of pods already there);
// - among feasible nodes, the least allocated by requests wins (the default NodeResourcesFit
//   score, LeastAllocated: mean free fraction of CPU and memory after placing), ties to the first
//   node of ktsw.yaml. Other scores (balanced allocation, soft spread, images) are not modelled, so a
//   real cluster may pick other nodes; whether everything fits is what this answers.
import type { CapacityNode } from "./nodes.ts";
import { type Amounts, add, none, type ResourceName, resourceNames } from "./resources.ts";
import { nodeMatches, type PlacedPod, selectorMatches, termSelects, untoleratedTaint } from "./rules.ts";
import type { PodAffinityTerm, Workload } from "./workloads.ts";

export interface NodeLoad {
  node: CapacityNode;
  requests: Amounts;
  limits: Amounts;
  /** Resources some pod here has no limit on (their limits column is a lower bound). */
  unlimited: Set<ResourceName>;
  pods: number;
}

export interface Placement {
  workload: Workload;
  /** 0-based replica, or the node's index for DaemonSets. */
  replica: number;
  node?: string;
  /** Why no node took it, in the scheduler's words (`0/5 nodes are available: ...`). */
  reason?: string;
}

interface Running extends PlacedPod {
  antiAffinity: PodAffinityTerm[];
}

export interface Schedule {
  loads: NodeLoad[];
  placements: Placement[];
}

const domainOf = (node: CapacityNode, key: string): string | undefined => node.labels[key];

class Cluster {
  readonly loads: NodeLoad[];
  readonly running: Running[] = [];
  constructor(readonly nodes: readonly CapacityNode[]) {
    this.loads = nodes.map((node) => ({
      node,
      requests: { ...none },
      limits: { ...none },
      unlimited: new Set(),
      pods: 0,
    }));
  }

  private load(node: CapacityNode): NodeLoad {
    return this.loads.find((l) => l.node === node) as NodeLoad;
  }

  /** Why `w`'s pod cannot go on `node`; undefined when it can. */
  filter(w: Workload, node: CapacityNode): string | undefined {
    const taint = untoleratedTaint(w.rules, node);
    if (taint) return `had untolerated taint {${taint.key}: ${taint.value}}`;
    if (!nodeMatches(w.rules, node)) return "didn't match Pod's node affinity/selector";
    const load = this.load(node);
    if (load.pods + 1 > node.allocatable.pods) return "Too many pods";
    for (const r of resourceNames)
      if (load.requests[r] + w.resources.requests[r] > node.allocatable[r]) return `Insufficient ${r}`;
    for (const c of w.rules.spread) {
      if (domainOf(node, c.topologyKey) === undefined)
        return "didn't match pod topology spread constraints (missing required label)";
      const counted = this.nodes.filter(
        (n) =>
          domainOf(n, c.topologyKey) !== undefined &&
          (c.nodeAffinityPolicy === "Ignore" || nodeMatches(w.rules, n)) &&
          (c.nodeTaintsPolicy !== "Honor" || !untoleratedTaint(w.rules, n)),
      );
      const perDomain = new Map<string, number>();
      for (const n of counted) perDomain.set(domainOf(n, c.topologyKey) as string, 0);
      for (const p of this.running) {
        const on = counted.find((n) => n.name === p.node);
        if (!on || p.namespace !== w.namespace || !selectorMatches(c.labelSelector, p.labels)) continue;
        const d = domainOf(on, c.topologyKey) as string;
        perDomain.set(d, (perDomain.get(d) ?? 0) + 1);
      }
      const min = Math.min(...perDomain.values());
      const self = selectorMatches(c.labelSelector, w.rules.labels) ? 1 : 0;
      const here = perDomain.get(domainOf(node, c.topologyKey) as string) ?? 0;
      if (here + self - min > c.maxSkew) return "didn't match pod topology spread constraints";
    }
    const sameDomain = (p: Running, key: string) => {
      const d = domainOf(node, key);
      const other = this.nodes.find((n) => n.name === p.node);
      return d !== undefined && other !== undefined && domainOf(other, key) === d;
    };
    for (const term of w.rules.affinity) {
      const matching = this.running.filter((p) => termSelects(term, w.namespace, p));
      // The first pod of a group that must sit together may go anywhere (the scheduler's special case).
      const selfOnly =
        matching.length === 0 &&
        termSelects(term, w.namespace, { namespace: w.namespace, labels: w.rules.labels, node: "" });
      if (!selfOnly && !matching.some((p) => sameDomain(p, term.topologyKey))) return "didn't match pod affinity rules";
    }
    for (const term of w.rules.antiAffinity)
      if (this.running.some((p) => termSelects(term, w.namespace, p) && sameDomain(p, term.topologyKey)))
        return "didn't match pod anti-affinity rules";
    const incoming: PlacedPod = { namespace: w.namespace, labels: w.rules.labels, node: node.name };
    for (const p of this.running)
      if (p.antiAffinity.some((term) => termSelects(term, p.namespace, incoming) && sameDomain(p, term.topologyKey)))
        return "didn't satisfy existing pods anti-affinity rules";
    return undefined;
  }

  /** LeastAllocated: the mean fraction of CPU and memory left free after placing the pod. */
  score(w: Workload, node: CapacityNode): number {
    const load = this.load(node);
    const free = (r: ResourceName) =>
      node.allocatable[r] === 0
        ? 0
        : (node.allocatable[r] - load.requests[r] - w.resources.requests[r]) / node.allocatable[r];
    return (free("cpu") + free("memory")) / 2;
  }

  bind(w: Workload, node: CapacityNode): void {
    const load = this.load(node);
    load.requests = add(load.requests, w.resources.requests);
    load.limits = add(load.limits, w.resources.limits);
    for (const r of w.resources.unlimited) load.unlimited.add(r);
    load.pods += 1;
    this.running.push({
      namespace: w.namespace,
      labels: w.rules.labels,
      node: node.name,
      antiAffinity: w.rules.antiAffinity,
    });
  }
}

/** `0/5 nodes are available: 3 node(s) had untolerated taint {…}, 2 Insufficient memory.` */
function unavailable(total: number, reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([r, n]) => (r.startsWith("Insufficient") || r === "Too many pods" ? `${n} ${r}` : `${n} node(s) ${r}`));
  return `0/${total} nodes are available: ${parts.join(", ")}.`;
}

export function schedule(workloads: readonly Workload[], nodes: readonly CapacityNode[]): Schedule {
  const cluster = new Cluster(nodes);
  const placements: Placement[] = [];
  const daemons = workloads.filter((w) => w.replicas === "every-node");
  for (const w of daemons) {
    const eligible = nodes.filter((n) => nodeMatches(w.rules, n) && !untoleratedTaint(w.rules, n));
    for (const [replica, node] of eligible.entries()) {
      const reason = cluster.filter(w, node);
      if (reason) placements.push({ workload: w, replica, reason: `node ${node.name}: ${reason}` });
      else {
        cluster.bind(w, node);
        placements.push({ workload: w, replica, node: node.name });
      }
    }
  }
  for (const w of workloads) {
    if (w.replicas === "every-node") continue;
    for (let replica = 0; replica < w.replicas; replica++) {
      const reasons: string[] = [];
      let best: { node: CapacityNode; score: number } | undefined;
      for (const node of nodes) {
        const reason = cluster.filter(w, node);
        if (reason) reasons.push(reason);
        else {
          const score = cluster.score(w, node);
          if (!best || score > best.score) best = { node, score };
        }
      }
      if (best) {
        cluster.bind(w, best.node);
        placements.push({ workload: w, replica, node: best.node.name });
      } else placements.push({ workload: w, replica, reason: unavailable(nodes.length, reasons) });
    }
  }
  return { loads: cluster.loads, placements };
}
