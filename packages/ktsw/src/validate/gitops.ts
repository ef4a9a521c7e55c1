// The Flux entry point must sync what ktsw.yaml says: the same repository, branch and cluster
// folder. flux-system.yaml is the one file Flux reads before any substitution exists (the
// cluster-settings ConfigMap is applied by it), so its values are literals; this keeps them honest.
import { type Finding, finding } from "../diagnostics.ts";
import { get, isFluxKustomization, nameOf, normalizeFluxPath, str } from "./flux.ts";
import { findingAt } from "./sources.ts";
import type { AppliedObject } from "./walk.ts";

export interface GitopsSettings {
  repository: string;
  branch: string;
  path: string;
}

export function checkGitopsEntry(objects: readonly AppliedObject[], gitops: GitopsSettings): Finding[] {
  const out: Finding[] = [];
  const clusterDir = normalizeFluxPath(gitops.path);
  const root = objects.find(
    (a) => isFluxKustomization(a.object) && normalizeFluxPath(str(a.object, "spec", "path") ?? "") === clusterDir,
  );
  const report = (a: AppliedObject, path: string[], message: string) =>
    out.push(findingAt(a.source, path, message, "flux.entry"));
  if (!root) {
    out.push(
      finding(
        { file: clusterDir },
        `no Flux Kustomization in the tree syncs ${gitops.path} (ktsw.yaml gitops.path)`,
        "flux.entry",
      ),
    );
    return out;
  }
  const kind = str(root.object, "spec", "sourceRef", "kind");
  const name = str(root.object, "spec", "sourceRef", "name");
  const source = objects.find((a) => a.object.kind === kind && nameOf(a.object) === name);
  if (!source || kind !== "GitRepository") return out;
  const url = str(source.object, "spec", "url");
  if (url !== gitops.repository)
    report(source, ["spec", "url"], `url ${url} differs from ktsw.yaml gitops.repository ${gitops.repository}`);
  const branch = get(source.object, "spec", "ref", "branch");
  if (branch !== gitops.branch)
    report(
      source,
      ["spec", "ref", "branch"],
      `branch ${String(branch)} differs from ktsw.yaml gitops.branch ${gitops.branch}`,
    );
  return out;
}
