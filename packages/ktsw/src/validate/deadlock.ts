// Deadlocks Flux would sit in forever without any dependsOn cycle in the files. Readiness in Flux:
//   - a Kustomization is Ready only after every dependsOn target is Ready;
//   - with wait: true, it is Ready only after every object it applies is Ready, including the
//     Kustomizations it applies (a layer waits for its components);
//   - a Kustomization exists only once its parent applied it, and the parent applies nothing before
//     its own dependsOn targets are Ready.
// A cycle in that "needs" graph never resolves. Typical case: a component in an early layer
// dependsOn a component of a later layer, which itself waits for the early layer.
import type { Finding } from "../diagnostics.ts";
import { arr, get, namespaceOf, str } from "./flux.ts";
import { findingAt } from "./sources.ts";
import type { KsNode } from "./walk.ts";

interface Edge {
  to: string;
  why: string;
}

function dependsOnIds(node: KsNode): string[] {
  const ns = namespaceOf(node.object) ?? "default";
  return arr(node.object, "spec", "dependsOn").map((d) => `${str(d, "namespace") ?? ns}/${str(d, "name")}`);
}

export function readinessEdges(nodes: Map<string, KsNode>): Map<string, Edge[]> {
  const edges = new Map<string, Edge[]>();
  const add = (from: string, to: string, why: string) => {
    if (!nodes.has(to) || from === to) return;
    edges.set(from, [...(edges.get(from) ?? []), { to, why }]);
  };
  for (const node of nodes.values()) {
    for (const dep of dependsOnIds(node)) add(node.id, dep, "dependsOn");
    const parent = nodes.get(node.parent);
    if (parent) {
      if (get(parent.object, "spec", "wait") === true) add(parent.id, node.id, "waits for what it applies");
      for (const dep of dependsOnIds(parent)) add(node.id, dep, `is applied only after ${parent.id}'s dependsOn`);
    }
  }
  return edges;
}

/** One finding per deadlock cycle that is not a plain dependsOn cycle (those are reported apart). */
export function checkDeadlocks(nodes: Map<string, KsNode>): Finding[] {
  const edges = readinessEdges(nodes);
  const out: Finding[] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: { id: string; why: string }[] = [];
  const reported = new Set<string>();
  const visit = (id: string) => {
    state.set(id, "visiting");
    for (const e of edges.get(id) ?? []) {
      stack.push({ id: e.to, why: e.why });
      if (state.get(e.to) === "visiting") {
        const start = stack.findIndex((s) => s.id === e.to);
        const cycle = stack.slice(start + 1);
        const onlyDependsOn = cycle.every((c) => c.why === "dependsOn");
        const key = [...cycle.map((c) => c.id)].sort().join(",");
        if (!onlyDependsOn && !reported.has(key)) {
          reported.add(key);
          // cycle[i] is reached from ring[i] for reason cycle[i].why; blame the first dependsOn edge.
          const ring = [e.to, ...cycle.map((c) => c.id)];
          const i = Math.max(
            0,
            cycle.findIndex((c) => c.why === "dependsOn"),
          );
          const holder = nodes.get(ring[i] ?? e.to);
          const text = [e.to, ...cycle.map((c) => `(${c.why}) ${c.id}`)].join(" -> ");
          out.push(
            findingAt(
              holder?.source,
              ["spec", "dependsOn"],
              `deadlock, Flux would wait forever: ${text}`,
              "flux.deadlock",
            ),
          );
        }
      } else if (!state.has(e.to)) visit(e.to);
      stack.pop();
    }
    state.set(id, "done");
  };
  for (const id of [...nodes.keys()].sort()) {
    if (state.has(id)) continue;
    stack.push({ id, why: "start" });
    visit(id);
    stack.pop();
  }
  return out;
}
