// The Flux tree as Flux applies it (charts rendered), for tests that pin how its parts are wired.
// Built once per test file (the tests only read it).
import { resolve } from "node:path";
import { expect } from "vitest";
import { defaultValidateOptions, treeSources } from "../../src/commands/validate.ts";
import { loadConfig } from "../../src/config/load.ts";
import { arr, nameOf, namespaceOf, type Obj, str } from "../../src/validate/flux.ts";
import { type AppliedTree, buildAppliedTree } from "../../src/validate/index.ts";

const repo = resolve(import.meta.dirname, "../../../..");

let built: Promise<AppliedTree> | undefined;
/** The repository's tree as Flux applies it, charts rendered. */
export function appliedTree(): Promise<AppliedTree> {
  built ??= (async () => {
    const { config } = await loadConfig(`${repo}/ktsw.yaml`);
    if (!config) throw new Error("ktsw.yaml does not load");
    return buildAppliedTree(treeSources(repo, config, defaultValidateOptions));
  })();
  return built;
}

/** The one applied object of that kind, name and namespace; fails the test when there is none. */
export function theObject(tree: AppliedTree, kind: string, name: string, namespace?: string): Obj {
  const found = tree.applied
    .map((a) => a.object)
    .filter((o) => o.kind === kind && nameOf(o) === name && (namespace === undefined || namespaceOf(o) === namespace));
  expect(found.length, `${kind} ${namespace ?? "*"}/${name}`).toBe(1);
  return found[0] as Obj;
}

/** The names a Flux Kustomization of the tree depends on. */
export const dependsOn = (tree: AppliedTree, ks: string): (string | undefined)[] =>
  arr(tree.walk.nodes.get(`flux-system/${ks}`)?.object, "spec", "dependsOn").map((d) => str(d, "name"));
