// Runs the Gatekeeper policies (packages/ktsw/src/policy, Gatekeeper's own engine via gator) on the
// objects the tree applies: its plain manifests and the objects its HelmReleases' charts render, in
// one gator run (so data.inventory sees both).
import { join } from "node:path";
import { locate } from "../config/locate.ts";
import type { Finding } from "../diagnostics.ts";
import { checkPolicies } from "../policy/check.ts";
import { groupOf } from "./flux.ts";
import { originOf } from "./rendered.ts";
import type { AppliedObject } from "./walk.ts";

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
  findings: Finding[];
  checked: number;
  note: string;
}

export async function runPolicies(
  root: string,
  objects: readonly AppliedObject[],
  siteVars: Record<string, string>,
): Promise<PolicyOutcome> {
  const targets = policyTargets(objects);
  const inputs = targets.map((a) => {
    const src = a.source as NonNullable<AppliedObject["source"]>;
    const origin = originOf(a);
    if (origin) {
      // A chart's or upstream copy's object has no place in the repository: the finding points at
      // its HelmRelease or Kustomization. Found only when a finding asks (getters): locating needs
      // the source's YAML syntax tree, which a run without findings never has to make.
      let at: { line: number; col: number } | undefined;
      const position = () => {
        at ??= locate(src.doc, src.lines, origin.at, true);
        return at;
      };
      return {
        file: src.file,
        get line() {
          return position().line;
        },
        get col() {
          return position().col;
        },
        object: a.object as unknown,
        origin: origin.label,
      };
    }
    return {
      file: src.file,
      line: src.line,
      col: src.col,
      object: a.object as unknown,
      locate: (p: readonly (string | number)[]) => locate(src.doc, src.lines, p),
    };
  });
  const findings = await checkPolicies(inputs, {
    root,
    siteVars,
    cacheDir: join(root, ".cache", "ktsw", "policy-results"),
  });
  const rendered = targets.filter((a) => a.chart).length;
  return {
    findings,
    checked: inputs.length,
    note: `policies: ${inputs.length - rendered} plain objects and ${rendered} objects rendered from charts checked with Gatekeeper's engine`,
  };
}
