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
  | {
      kind: "chart";
      chart: string;
      version: string;
      /** Where it comes from, e.g. `HelmRepository apps/r`, `OCIRepository flux-system/podinfo`. */
      source: string;
      /** Set for spec.chartRef: the source object that pins the version. */
      via?: string;
    }
  | { kind: "unsupported"; why: string };

/** Finds a source object of the tree by kind, namespace and name. */
export type SourceLookup = (kind: string, namespace: string, name: string) => Obj | undefined;

/**
 * The chart a HelmRelease pins: spec.chart.spec from a HelmRepository, or spec.chartRef to an
 * OCIRepository (chart = the URL's last segment; version = ref.semver, else ref.tag, as
 * source-controller prefers them) or to a HelmChart from a HelmRepository.
 */
export function chartRef(hr: Obj, lookup: SourceLookup = () => undefined): ChartRef {
  const hrNamespace = namespaceOf(hr) ?? "default";
  const spec = get(hr, "spec", "chart", "spec");
  if (spec !== undefined) return fromHelmRepository(spec, hrNamespace, str(spec, "chart") ?? "");
  const ref = get(hr, "spec", "chartRef");
  if (ref === undefined) return { kind: "unsupported", why: "no spec.chart nor spec.chartRef" };
  const kind = str(ref, "kind") ?? "";
  const id = `${str(ref, "namespace") ?? hrNamespace}/${str(ref, "name")}`;
  const source = lookup(kind, str(ref, "namespace") ?? hrNamespace, str(ref, "name") ?? "");
  if (kind !== "OCIRepository" && kind !== "HelmChart") return { kind: "unsupported", why: `spec.chartRef to ${kind}` };
  if (!source) return { kind: "unsupported", why: `spec.chartRef to ${kind} ${id}, which the tree does not define` };
  const via = `${kind} ${id}`;
  if (kind === "HelmChart") {
    const chart = fromHelmRepository(
      get(source, "spec"),
      namespaceOf(source) ?? hrNamespace,
      str(source, "spec", "chart") ?? "",
    );
    return chart.kind === "chart" ? { ...chart, via } : { kind: "unsupported", why: `${chart.why} (${via})` };
  }
  const url = str(source, "spec", "url") ?? "";
  const version = str(source, "spec", "ref", "semver") ?? str(source, "spec", "ref", "tag");
  if (!version)
    return {
      kind: "unsupported",
      why: `${via} pins no ref.tag nor ref.semver (the chart cache is indexed by version)`,
    };
  return { kind: "chart", chart: url.replace(/\/+$/, "").split("/").pop() ?? "", version, source: via, via };
}

function fromHelmRepository(spec: unknown, namespace: string, chart: string): ChartRef {
  const kind = str(spec, "sourceRef", "kind") ?? "";
  if (kind !== "HelmRepository")
    return { kind: "unsupported", why: `chart ${chart} from a ${kind || "missing"} source` };
  const ns = str(spec, "sourceRef", "namespace") ?? namespace;
  return {
    kind: "chart",
    chart,
    version: str(spec, "version") ?? "",
    source: `HelmRepository ${ns}/${str(spec, "sourceRef", "name")}`,
  };
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
