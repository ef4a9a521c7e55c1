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

/** A finding on an applied object: at `path` in its source, or at the HelmRelease for a chart's object. */
export function findingFor(
  a: AppliedObject,
  path: readonly (string | number)[],
  message: string,
  rule: string,
  opts: { pointAtKey?: boolean; severity?: Severity } = {},
): Finding {
  if (!a.chart) return findingAt(a.source, path, message, rule, opts);
  const at = findingAt(a.source, ["spec", "chart"], "", rule, { ...opts, pointAtKey: true });
  return {
    ...at,
    path: path.join("."),
    message: `${chartLabel(a.chart)}, ${objectLabel(a.object)}: ${message}`,
  };
}
