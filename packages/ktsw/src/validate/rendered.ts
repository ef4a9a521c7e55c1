// Findings about objects rendered from a chart point at the HelmRelease that renders them (the
// chart's files are not in this repository) and say which chart and which object.
import type { Finding, Severity } from "../diagnostics.ts";
import { nameOf, namespaceOf } from "./flux.ts";
import { findingAt } from "./sources.ts";
import type { AppliedObject, RenderedFrom } from "./walk.ts";

export function chartLabel(chart: RenderedFrom): string {
  return `chart ${chart.chart} ${chart.version} of HelmRelease ${chart.release}`;
}

/** `Kind namespace/name` of an object. */
export function objectLabel(o: AppliedObject["object"]): string {
  const ns = namespaceOf(o);
  return `${String(o.kind)} ${ns ? `${ns}/` : ""}${nameOf(o)}`;
}

/**
 * Where an object not written in this repository comes from: a chart (found at its HelmRelease's
 * spec.chart) or an upstream source's copy (found at its Kustomization's spec.sourceRef).
 */
export function originOf(a: AppliedObject): { label: string; at: string[] } | undefined {
  if (a.chart) return { label: chartLabel(a.chart), at: ["spec", "chart"] };
  if (a.upstream) return { label: `upstream ${a.upstream}`, at: ["spec", "sourceRef"] };
  return undefined;
}

/** A finding on an applied object: at `path` in its source, or where its origin is named (see originOf). */
export function findingFor(
  a: AppliedObject,
  path: readonly (string | number)[],
  message: string,
  rule: string,
  opts: { pointAtKey?: boolean; severity?: Severity } = {},
): Finding {
  const origin = originOf(a);
  if (!origin) return findingAt(a.source, path, message, rule, opts);
  const at = findingAt(a.source, origin.at, "", rule, { ...opts, pointAtKey: true });
  return {
    ...at,
    path: path.join("."),
    message: `${origin.label}, ${objectLabel(a.object)}: ${message}`,
  };
}
