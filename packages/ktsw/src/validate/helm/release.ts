// What helm-controller derives from a HelmRelease before it renders anything (pure functions):
// the release name and namespace, the chart reference, whether CRDs are installed, and the values
// (valuesFrom merged in order, spec.values over them, targetPath references last).
// Upstream: helm-controller api/v2 GetReleaseName/GetReleaseNamespace, internal/release ShortenName,
// fluxcd/pkg chartutil ChartValuesFromReferences and MergeMaps.
import { createHash } from "node:crypto";
import { parse } from "yaml";
import { arr, get, nameOf, namespaceOf, type Obj, str } from "../flux.ts";

/** spec.releaseName, else `[targetNamespace-]name`, shortened past 53 characters like Helm needs. */
export function releaseName(hr: Obj): string {
  const explicit = str(hr, "spec", "releaseName");
  const target = str(hr, "spec", "targetNamespace");
  return shortenName(explicit || (target ? `${target}-${nameOf(hr)}` : nameOf(hr)));
}

/** helm-controller's ShortenName: the first 40 characters, a dash and 12 hex of the name's SHA-256. */
export function shortenName(name: string): string {
  if (name.length <= 53) return name;
  return `${name.slice(0, 40)}-${createHash("sha256").update(name).digest("hex").slice(0, 12)}`;
}

export function releaseNamespace(hr: Obj): string {
  return str(hr, "spec", "targetNamespace") || (namespaceOf(hr) ?? "default");
}

/** CRDs from the chart's crds/ folder are installed unless spec.install.crds is Skip (default Create). */
export function includesCrds(hr: Obj): boolean {
  return (str(hr, "spec", "install", "crds") ?? "Create") !== "Skip";
}

export type ChartRef =
  | { kind: "HelmRepository"; chart: string; version: string; source: string }
  | { kind: "unsupported"; why: string };

/** The chart a HelmRelease pins (spec.chart.spec from a HelmRepository). */
export function chartRef(hr: Obj): ChartRef {
  const spec = get(hr, "spec", "chart", "spec");
  if (spec !== undefined) {
    const kind = str(spec, "sourceRef", "kind") ?? "";
    const chart = str(spec, "chart") ?? "";
    if (kind !== "HelmRepository")
      return { kind: "unsupported", why: `chart ${chart} from a ${kind || "missing"} source` };
    const ns = str(spec, "sourceRef", "namespace") ?? namespaceOf(hr) ?? "default";
    return { kind, chart, version: str(spec, "version") ?? "", source: `${ns}/${str(spec, "sourceRef", "name")}` };
  }
  const ref = get(hr, "spec", "chartRef");
  if (ref !== undefined)
    return { kind: "unsupported", why: `spec.chartRef to ${str(ref, "kind")}/${str(ref, "name")}` };
  return { kind: "unsupported", why: "no spec.chart nor spec.chartRef" };
}

export type Values = Record<string, unknown>;

/** fluxcd/pkg MergeMaps: b over a; maps merge key by key, anything else replaces. */
export function mergeMaps(a: Values, b: Values): Values {
  const out: Values = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isMap(v) && isMap(prev) ? mergeMaps(prev, v) : v;
  }
  return out;
}

function isMap(v: unknown): v is Values {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** One valuesFrom entry, already read from its ConfigMap or Secret. */
export interface ResolvedValuesRef {
  /** The text under valuesKey. */
  text: string;
  targetPath?: string;
}

/**
 * The values helm-controller hands to Helm: each reference in order (a whole YAML document merged,
 * or one value set at targetPath), then spec.values over them. A targetPath value wins over
 * spec.values (upstream sets it into the map spec.values shares, so the last merge keeps it).
 */
export function composeValues(refs: readonly ResolvedValuesRef[], values: Values): Values {
  let result: Values = {};
  const pathSets: ResolvedValuesRef[] = [];
  for (const ref of refs) {
    if (ref.targetPath) {
      result = mergeMaps(result, values);
      setPath(result, ref.targetPath, scalarOf(ref.text));
      pathSets.push(ref);
      continue;
    }
    const doc = parse(ref.text) as unknown;
    result = mergeMaps(result, isMap(doc) ? doc : {});
  }
  result = mergeMaps(result, values);
  for (const ref of pathSets) setPath(result, ref.targetPath as string, scalarOf(ref.text));
  return result;
}

/** Helm's strvals typing of `path=value`: quoted stays a string; true/false/null/integers are typed. */
function scalarOf(text: string): unknown {
  const quoted = /^(['"])(.*)\1$/s.exec(text);
  if (quoted) return quoted[2];
  if (text === "true" || text === "false") return text === "true";
  if (text === "null") return null;
  if (/^-?(0|[1-9]\d{0,15})$/.test(text)) return Number(text);
  return text;
}

/** Sets a dotted path (`a.b[0].c`, `\.` escapes a dot) inside values, creating maps and lists. */
export function setPath(values: Values, path: string, value: unknown): void {
  const segments = path
    .split(/(?<!\\)\./)
    .flatMap((s) => {
      const m = /^(.*?)((?:\[\d+\])*)$/.exec(s.replaceAll("\\.", "."));
      const key = m?.[1] ?? s;
      const idx = [...(m?.[2] ?? "").matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
      return [key, ...idx];
    })
    .filter((s) => s !== "");
  let cur: Record<string | number, unknown> = values;
  for (const [i, seg] of segments.entries()) {
    if (i === segments.length - 1) {
      cur[seg] = value;
      return;
    }
    const nextIsIndex = typeof segments[i + 1] === "number";
    const existing = cur[seg];
    if (typeof existing !== "object" || existing === null) cur[seg] = nextIsIndex ? [] : {};
    cur = cur[seg] as Record<string | number, unknown>;
  }
}

/** valuesFrom entries as written: kind, name, key (default values.yaml), targetPath, optional. */
export interface ValuesRef {
  index: number;
  kind: string;
  name: string;
  valuesKey: string;
  targetPath?: string;
  optional: boolean;
}

export function valuesRefs(hr: Obj): ValuesRef[] {
  return arr(hr, "spec", "valuesFrom").map((r, index) => ({
    index,
    kind: str(r, "kind") ?? "",
    name: str(r, "name") ?? "",
    valuesKey: str(r, "valuesKey") ?? "values.yaml",
    ...(str(r, "targetPath") ? { targetPath: str(r, "targetPath") as string } : {}),
    optional: get(r, "optional") === true,
  }));
}
