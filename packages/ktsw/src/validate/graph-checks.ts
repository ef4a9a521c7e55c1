// Checks on the Flux graph as a whole: dependsOn targets exist and form no cycle, every source a
// Kustomization or HelmRelease names exists, every namespace an object lands in is created in the tree.
import type { Finding } from "../diagnostics.ts";
import { arr, get, groupOf, nameOf, namespaceOf, type Obj, str } from "./flux.ts";
import { findingAt, type SourceDoc } from "./sources.ts";
import type { AppliedObject, KsNode } from "./walk.ts";

/** Namespaces that exist before Flux applies anything: Kubernetes' own, and Flux's (from `flux install`). */
export const PREEXISTING_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease", "flux-system"];

export function checkDependsOn(nodes: Map<string, KsNode>): Finding[] {
  const out: Finding[] = [];
  const edges = new Map<string, string[]>();
  for (const node of nodes.values()) {
    const ns = namespaceOf(node.object) ?? "default";
    const targets: string[] = [];
    for (const [i, dep] of arr(node.object, "spec", "dependsOn").entries()) {
      const id = `${str(dep, "namespace") ?? ns}/${str(dep, "name")}`;
      if (!nodes.has(id))
        out.push(
          findingAt(
            node.source,
            ["spec", "dependsOn", i, "name"],
            `dependsOn ${id}: no such Flux Kustomization in the tree`,
            "flux.depends-on",
          ),
        );
      else targets.push(id);
    }
    edges.set(node.id, targets);
  }
  // Cycle detection: depth-first with colours; each cycle reported once, at its first member.
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (id: string) => {
    state.set(id, "visiting");
    stack.push(id);
    for (const t of edges.get(id) ?? []) {
      if (state.get(t) === "visiting") {
        const cycle = [...stack.slice(stack.indexOf(t)), t];
        const node = nodes.get(t);
        out.push(
          findingAt(
            node?.source,
            ["spec", "dependsOn"],
            `dependsOn cycle: ${cycle.join(" -> ")}`,
            "flux.depends-on-cycle",
          ),
        );
      } else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(id, "done");
  };
  for (const id of [...edges.keys()].sort()) if (!state.has(id)) visit(id);
  return out;
}

function exists(objects: readonly AppliedObject[], kind: string, name: string, ns: string | undefined): boolean {
  return objects.some(
    (a) => a.object.kind === kind && nameOf(a.object) === name && (ns === undefined || namespaceOf(a.object) === ns),
  );
}

export function checkSourceRefs(nodes: Map<string, KsNode>, objects: readonly AppliedObject[]): Finding[] {
  const out: Finding[] = [];
  for (const node of nodes.values()) {
    const kind = str(node.object, "spec", "sourceRef", "kind") ?? "";
    const name = str(node.object, "spec", "sourceRef", "name") ?? "";
    const ns = str(node.object, "spec", "sourceRef", "namespace") ?? namespaceOf(node.object);
    if (!exists(objects, kind, name, ns))
      out.push(
        findingAt(
          node.source,
          ["spec", "sourceRef", "name"],
          `sourceRef ${kind}/${name} (namespace ${ns}) is not defined in the tree`,
          "flux.source-ref",
        ),
      );
  }
  for (const a of objects) {
    if (a.object.kind !== "HelmRelease" || groupOf(a.object) !== "helm.toolkit.fluxcd.io") continue;
    const hrNs = namespaceOf(a.object);
    const chartRef = get(a.object, "spec", "chartRef");
    const ref = chartRef ?? get(a.object, "spec", "chart", "spec", "sourceRef");
    const path = chartRef ? ["spec", "chartRef", "name"] : ["spec", "chart", "spec", "sourceRef", "name"];
    if (!ref) {
      out.push(
        findingAt(
          a.source,
          ["spec"],
          `HelmRelease ${nameOf(a.object)} has neither chart.spec.sourceRef nor chartRef`,
          "flux.source-ref",
        ),
      );
      continue;
    }
    const kind = str(ref, "kind") ?? "";
    const name = str(ref, "name") ?? "";
    const ns = str(ref, "namespace") ?? hrNs;
    if (!exists(objects, kind, name, ns))
      out.push(
        findingAt(
          a.source,
          path,
          `${chartRef ? "chartRef" : "sourceRef"} ${kind}/${name} (namespace ${ns}) is not defined in the tree`,
          "flux.source-ref",
        ),
      );
  }
  return out;
}

/**
 * Kustomizations that read an upstream source cannot be built offline; what can be proven is that
 * the source exists (checkSourceRefs) and is pinned: a tag, an exact semver or a commit, never a branch.
 */
export function checkExternalSources(nodes: Map<string, KsNode>, objects: readonly AppliedObject[]): Finding[] {
  const out: Finding[] = [];
  const pinnedRef = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
  for (const node of nodes.values()) {
    if (!node.external) continue;
    const [kind, ns, name] = node.external.split("/");
    const source = objects.find(
      (a) => a.object.kind === kind && namespaceOf(a.object) === ns && nameOf(a.object) === name,
    );
    if (!source) continue;
    const ref = (get(source.object, "spec", "ref") ?? {}) as Record<string, unknown>;
    const pinned =
      typeof ref.commit === "string" ||
      typeof ref.digest === "string" ||
      (typeof ref.tag === "string" && ref.tag !== "latest") ||
      (typeof ref.semver === "string" && pinnedRef.test(ref.semver));
    if (!pinned)
      out.push(
        findingAt(
          source.source,
          ["spec", "ref"],
          `${kind} ${name} feeds ${node.id} but is not pinned (use ref.tag, an exact ref.semver or ref.commit; a branch moves)`,
          "pins",
        ),
      );
  }
  return out;
}

/** Secrets the tree creates indirectly: cert-manager Certificates write spec.secretName. */
function producedSecret(objects: readonly AppliedObject[], name: string, ns: string | undefined): boolean {
  return objects.some(
    (a) =>
      a.object.kind === "Certificate" &&
      groupOf(a.object) === "cert-manager.io" &&
      str(a.object, "spec", "secretName") === name &&
      namespaceOf(a.object) === ns,
  );
}

/**
 * HelmRelease valuesFrom: each ConfigMap/Secret should exist in the release's namespace, written in
 * the tree or produced by a Certificate in it. A warning, not an error: an operator may create it.
 */
export function checkValuesFrom(objects: readonly AppliedObject[]): Finding[] {
  const out: Finding[] = [];
  for (const a of objects) {
    if (a.object.kind !== "HelmRelease" || groupOf(a.object) !== "helm.toolkit.fluxcd.io") continue;
    for (const [i, ref] of arr(a.object, "spec", "valuesFrom").entries()) {
      const kind = str(ref, "kind") ?? "";
      const name = str(ref, "name") ?? "";
      if (get(ref, "optional") === true) continue;
      const ns = namespaceOf(a.object);
      if (exists(objects, kind, name, ns) || (kind === "Secret" && producedSecret(objects, name, ns))) continue;
      out.push(
        findingAt(
          a.source,
          ["spec", "valuesFrom", i, "name"],
          `valuesFrom ${kind}/${name}: nothing in the tree creates it in namespace ${ns}`,
          "flux.values-from",
          { severity: "warning" },
        ),
      );
    }
  }
  return out;
}

/** HelmRelease dependsOn: the other HelmRelease must exist (same namespace unless given). */
export function checkHelmReleaseDependsOn(objects: readonly AppliedObject[]): Finding[] {
  const out: Finding[] = [];
  for (const a of objects) {
    if (a.object.kind !== "HelmRelease" || groupOf(a.object) !== "helm.toolkit.fluxcd.io") continue;
    for (const [i, dep] of arr(a.object, "spec", "dependsOn").entries()) {
      const name = str(dep, "name") ?? "";
      const ns = str(dep, "namespace") ?? namespaceOf(a.object);
      if (!exists(objects, "HelmRelease", name, ns))
        out.push(
          findingAt(
            a.source,
            ["spec", "dependsOn", i, "name"],
            `dependsOn HelmRelease ${ns}/${name}: not defined in the tree`,
            "flux.depends-on",
          ),
        );
    }
  }
  return out;
}

export function checkNamespaces(nodes: Map<string, KsNode>, objects: readonly AppliedObject[]): Finding[] {
  const created = new Set([
    ...PREEXISTING_NAMESPACES,
    ...objects.filter((a) => a.object.kind === "Namespace" && groupOf(a.object) === "").map((a) => nameOf(a.object)),
  ]);
  const out: Finding[] = [];
  const reported = new Set<string>();
  const report = (src: SourceDoc | undefined, path: (string | number)[], ns: string, what: string) => {
    const key = `${src?.file}|${ns}`;
    if (reported.has(key)) return;
    reported.add(key);
    out.push(findingAt(src, path, `namespace "${ns}" (${what}) is not created anywhere in the tree`, "flux.namespace"));
  };
  for (const a of objects) {
    const ns = namespaceOf(a.object);
    if (ns && !created.has(ns)) report(a.source, ["metadata", "namespace"], ns, `${a.object.kind}/${nameOf(a.object)}`);
    const target = str(a.object, "spec", "targetNamespace");
    if (target && !created.has(target) && get(a.object, "spec", "install", "createNamespace") !== true)
      report(a.source, ["spec", "targetNamespace"], target, `targetNamespace of ${a.object.kind}/${nameOf(a.object)}`);
  }
  for (const node of nodes.values()) {
    const target = str(node.object, "spec", "targetNamespace");
    if (target && !created.has(target))
      report(node.source, ["spec", "targetNamespace"], target, `targetNamespace of ${node.id}`);
  }
  return out;
}

/** The built objects a Flux Kustomization applies, for the report line. */
export function countObjects(node: KsNode): number {
  return node.objects.length;
}

export type { Obj };
