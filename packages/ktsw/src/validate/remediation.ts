// A HelmRelease whose install or upgrade fails once stays failed until someone runs `flux reconcile`:
// helm-controller tries an action again only when its `remediation.retries` says so. First installs
// fail for reasons that pass by themselves — a CRD the chart has just created and the API server does
// not yet serve in discovery (so a hook using it has no REST mapping), a webhook whose pod is still
// starting — so every release in the tree must retry, or one such moment stalls its whole layer.
import type { Finding } from "../diagnostics.ts";
import { get, groupOf } from "./flux.ts";
import { findingAt } from "./sources.ts";
import type { AppliedObject } from "./walk.ts";

const ACTIONS = ["install", "upgrade"] as const;

/** Any integer but 0: a count, or helm-controller's -1 for "retry for ever". */
function retries(value: unknown): boolean {
  return Number.isInteger(value) && value !== 0;
}

export function checkRemediation(objects: readonly AppliedObject[]): Finding[] {
  const out: Finding[] = [];
  for (const a of objects) {
    if (a.object.kind !== "HelmRelease" || groupOf(a.object) !== "helm.toolkit.fluxcd.io") continue;
    for (const action of ACTIONS) {
      const path = ["spec", action, "remediation", "retries"];
      if (retries(get(a.object, ...path))) continue;
      out.push(
        findingAt(
          a.source,
          path,
          `spec.${action}.remediation.retries is not set: a failed ${action} (a CRD not yet served, a webhook still starting) would stay failed until someone reconciles it by hand`,
          "flux.remediation",
        ),
      );
    }
  }
  return out;
}
