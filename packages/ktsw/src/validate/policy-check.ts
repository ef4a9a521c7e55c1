// Runs the Gatekeeper policies (packages/ktsw/src/policy, Gatekeeper's own engine via gator) on the
// plain objects the tree defines. Helm charts are not rendered (their charts are not in Git and
// validate works offline), so workloads inside HelmReleases are not policy-checked here: the
// admission webhook in the cluster covers them. The policy module is loaded only if present.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Finding } from "../diagnostics.ts";
import { groupOf } from "./flux.ts";
import type { AppliedObject } from "./walk.ts";

const POLICY_MODULE = new URL("../policy/check.ts", import.meta.url);

/** Objects Gatekeeper would see from the tree itself (not Flux plumbing, not policy definitions). */
export function policyTargets(objects: readonly AppliedObject[]): AppliedObject[] {
  return objects.filter((a) => {
    const g = groupOf(a.object);
    return (
      a.source !== undefined &&
      !g.endsWith("toolkit.fluxcd.io") &&
      !g.endsWith("gatekeeper.sh") &&
      a.object.kind !== "Secret"
    );
  });
}

export interface PolicyOutcome {
  ran: boolean;
  findings: Finding[];
  checked: number;
  note: string;
}

export async function runPolicies(
  root: string,
  objects: readonly AppliedObject[],
  siteVars: Record<string, string>,
): Promise<PolicyOutcome> {
  const charts = objects.filter((a) => a.object.kind === "HelmRelease").length;
  if (!existsSync(fileURLToPath(POLICY_MODULE)))
    return { ran: false, findings: [], checked: 0, note: "policies: skipped (no policy module)" };
  const targets = policyTargets(objects);
  const mod = (await import(POLICY_MODULE.href)) as typeof import("../policy/check.ts");
  const { locate } = await import("../config/locate.ts");
  const inputs = targets.map((a) => {
    const src = a.source as NonNullable<AppliedObject["source"]>;
    return {
      file: src.file,
      line: src.line,
      col: src.col,
      object: a.object as unknown,
      locate: (p: readonly (string | number)[]) => locate(src.doc, src.lines, p),
    };
  });
  const findings = await mod.checkPolicies(inputs, { root, siteVars });
  return {
    ran: true,
    findings,
    checked: inputs.length,
    note: `policies: ${inputs.length} plain objects checked with Gatekeeper's engine; ${charts} HelmRelease charts not rendered (charts are not available offline), their workloads are checked at admission`,
  };
}
