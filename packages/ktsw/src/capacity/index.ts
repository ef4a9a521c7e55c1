// The capacity plan: the pods the applied objects ask for, placed on the nodes of ktsw.yaml, with
// totals per node and per layer and the pods that find no node. Pure: objects and nodes in, plan out;
// `ktsw plan` prints it (markdown.ts) and `ktsw validate` turns it into findings (findings.ts).
import type { AppliedObject } from "../validate/walk.ts";
import type { CapacityNode } from "./nodes.ts";
import { type Amounts, add, none, type ResourceName } from "./resources.ts";
import { type NodeLoad, type Placement, schedule } from "./schedule.ts";
import { type Workload, workloadsOf } from "./workloads.ts";

export interface LayerLoad {
  layer: string;
  pods: number;
  requests: Amounts;
  limits: Amounts;
  /** Resources some pod of the layer has no limit on. */
  unlimited: Set<ResourceName>;
}

export interface CapacityPlan {
  workloads: Workload[];
  nodes: NodeLoad[];
  layers: LayerLoad[];
  placements: Placement[];
  unplaced: Placement[];
  /** Whether the charts were rendered (what the plan stands on), as validate says it. */
  charts?: string;
}

/** How the tree is layered: the Kustomization graph (`id` → the Kustomization that applies it). */
export interface TreeLayout {
  parents: ReadonlyMap<string, string>;
  /** Flux's apply order of each Kustomization (0 first); unknown owners go last. */
  order?: ReadonlyMap<string, number>;
}

const nameOfId = (id: string) => id.slice(id.indexOf("/") + 1);

/**
 * The layer of what a Kustomization applies: the Kustomization right below the cluster's root
 * (kubernetes/clusters/homelab applies one per layer: networking … apps); the root itself for what
 * the root applies directly.
 */
export function layerOf(owner: string, parents: ReadonlyMap<string, string>): string {
  // owner, its parent, ... up to the root (a cycle stops the climb).
  const chain = [owner];
  let parent = parents.get(owner);
  while (parent && !chain.includes(parent)) {
    chain.push(parent);
    parent = parents.get(parent);
  }
  // "" owns what the cluster folder itself applies.
  return nameOfId(chain.length >= 2 ? (chain.at(-2) as string) : owner) || "cluster";
}

export function planCapacity(
  applied: readonly AppliedObject[],
  nodes: readonly CapacityNode[],
  layout: TreeLayout,
  parseYaml?: (text: string) => unknown,
): CapacityPlan {
  const rank = (w: Workload) => layout.order?.get(w.owner) ?? Number.MAX_SAFE_INTEGER;
  // A stable sort: same-rank workloads keep the tree's order.
  const workloads = workloadsOf(applied, parseYaml).sort((a, b) => rank(a) - rank(b));
  const { loads, placements } = schedule(workloads, nodes);
  const layers = new Map<string, LayerLoad>();
  // Layers in the order Flux applies them (workloads are sorted so), not the order pods were placed.
  for (const w of workloads) {
    const layer = layerOf(w.owner, layout.parents);
    if (!layers.has(layer))
      layers.set(layer, { layer, pods: 0, requests: { ...none }, limits: { ...none }, unlimited: new Set() });
  }
  for (const p of placements) {
    if (!p.node) continue;
    const layer = layerOf(p.workload.owner, layout.parents);
    const l = layers.get(layer) as LayerLoad;
    l.pods += 1;
    for (const r of p.workload.resources.unlimited) l.unlimited.add(r);
    l.requests = add(l.requests, p.workload.resources.requests);
    l.limits = add(l.limits, p.workload.resources.limits);
  }
  return {
    workloads,
    nodes: loads,
    layers: [...layers.values()],
    placements,
    unplaced: placements.filter((p) => !p.node),
  };
}
