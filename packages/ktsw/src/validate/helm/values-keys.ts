// Which keys a chart knows in its values, from its own files: the defaults (values.yaml), the
// schema (values.schema.json) and what the templates read (`.Values.a.b`, `index .Values "a"`).
// A key none of them knows is most likely a typo that Helm would silently ignore; the check
// below names it with the closest key the chart does know. Pure: chart files in, findings out.

import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { editDistance } from "../../config/load.ts";
import type { PathSegment } from "../../config/locate.ts";
import type { ChartFiles } from "./chart-files.ts";
import { untar } from "./chart-files.ts";

/**
 * The keys a chart knows, as a tree. `open`: anything below is accepted — a subtree a template
 * reads whole (`toYaml .Values.resources`), a free-form default (`podAnnotations: {}`), a schema
 * that allows any property.
 */
export interface KeyTree {
  open: boolean;
  children: Map<string, KeyTree>;
}

const newTree = (open = false): KeyTree => ({ open, children: new Map() });

/** A key tree as plain JSON (`[open, {key: subtree}]`), so a chart's is read from its archive once and kept. */
export type KeyTreeJson = [boolean, Record<string, KeyTreeJson>];

export const keyTreeToJson = (t: KeyTree): KeyTreeJson => [
  t.open,
  Object.fromEntries([...t.children].map(([k, v]) => [k, keyTreeToJson(v)])),
];

export const keyTreeFromJson = ([open, children]: KeyTreeJson): KeyTree => ({
  open,
  children: new Map(Object.entries(children).map(([k, v]) => [k, keyTreeFromJson(v)])),
});

function childOf(tree: KeyTree, key: string): KeyTree {
  let child = tree.children.get(key);
  if (!child) {
    child = newTree();
    tree.children.set(key, child);
  }
  return child;
}

function nodeAt(tree: KeyTree, path: readonly string[]): KeyTree {
  return path.reduce(childOf, tree);
}

function mergeInto(into: KeyTree, from: KeyTree): void {
  into.open ||= from.open;
  for (const [k, v] of from.children) mergeInto(childOf(into, k), v);
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Defaults: a non-empty map lists its keys; anything else (a scalar, a list, `{}`, null) is open below. */
export function treeFromDefaults(values: unknown, into: KeyTree = newTree()): KeyTree {
  if (!isMap(values) || Object.keys(values).length === 0) {
    into.open = true;
    return into;
  }
  for (const [k, v] of Object.entries(values)) treeFromDefaults(v, childOf(into, k));
  return into;
}

/**
 * A JSON schema: `properties` list keys; `additionalProperties` (true or a schema),
 * `patternProperties` or an object without properties leave the level open; local `$ref`s and
 * allOf/anyOf/oneOf contribute their keys too.
 */
export function treeFromSchema(schema: unknown, root: unknown = schema, into: KeyTree = newTree(), depth = 0): KeyTree {
  if (!isMap(schema) || depth > 32) {
    into.open = true;
    return into;
  }
  const ref = typeof schema.$ref === "string" ? schema.$ref : undefined;
  if (ref?.startsWith("#/")) {
    const target = ref
      .slice(2)
      .split("/")
      .reduce<unknown>((o, seg) => (isMap(o) ? o[seg.replaceAll("~1", "/").replaceAll("~0", "~")] : undefined), root);
    treeFromSchema(target, root, into, depth + 1);
  } else if (ref) into.open = true;
  for (const combo of ["allOf", "anyOf", "oneOf"])
    for (const s of Array.isArray(schema[combo]) ? schema[combo] : []) treeFromSchema(s, root, into, depth + 1);
  const properties = isMap(schema.properties) ? schema.properties : undefined;
  if (properties) for (const [k, s] of Object.entries(properties)) treeFromSchema(s, root, childOf(into, k), depth + 1);
  const additional = schema.additionalProperties;
  const composed = ["allOf", "anyOf", "oneOf"].some((c) => Array.isArray(schema[c])) || ref !== undefined;
  if (
    additional === true ||
    isMap(additional) ||
    isMap(schema.patternProperties) ||
    (!properties && !composed && additional !== false)
  )
    into.open = true;
  return into;
}

const IDENT = "[A-Za-z_][A-Za-z0-9_]*";
const QUOTED = '(?:\\s+"[^"]*")+';
/** `(.Values).a` and `((.Values).a).b`, as some charts write nil-safe reads: the same as `.Values.a.b`. */
const PARENTHESIZED = new RegExp(`\\((\\$?\\.${IDENT}(?:\\.${IDENT})*)\\)(?=\\.${IDENT})`, "g");
/** `(dict "app" .Values.x)`: a helper then reads `.app.y`, which is `.Values.x.y`. */
const ALIAS = new RegExp(`"(${IDENT})"\\s+\\$?\\.Values((?:\\.${IDENT})*)(?![\\w.])`, "g");
/** `index .Values "a" "b"` (also `$.Values.x`): the path the quoted keys name. */
const INDEX_READ = new RegExp(`index\\s+\\$?\\.Values((?:\\.${IDENT})*)(${QUOTED})`, "g");
/** `hasKey .Values "a"`, `get .Values.x "a"`: one key looked up by name. */
const KEY_READ = new RegExp(`(?:hasKey|get)\\s+\\$?\\.Values((?:\\.${IDENT})*)(\\s+"[^"]*")`, "g");
/** `.Values.a.b` — the whole subtree under a.b is read (the template may toYaml it or range over it). */
const DOT_READ = new RegExp(`\\.Values((?:\\.${IDENT})+)`, "g");

/**
 * What a set of templates reads of `.Values`: each read path is open below. `.Values` read whole
 * (`deepCopy .Values`, `with .Values`) opens nothing: it is how charts hand their values around,
 * and counting it would make every key "read"; the keys such charts use are in their defaults.
 */
export function treeFromTemplates(templates: readonly string[], into: KeyTree = newTree()): KeyTree {
  const readByName = (_m: string, dotted: string, quoted: string) => {
    const keys = [...quoted.matchAll(/"([^"]*)"/g)].map((m) => m[1] as string);
    nodeAt(into, [...dotted.split(".").filter(Boolean), ...keys]).open = true;
    return "";
  };
  const plain = templates.map((text) => {
    let out = text;
    for (let previous = ""; previous !== out; ) {
      previous = out;
      out = out.replace(PARENTHESIZED, "$1");
    }
    return out;
  });
  // One name may stand for several subtrees (each call site hands the helper another one).
  const aliases = new Map<string, string[][]>();
  for (const text of plain)
    for (const m of text.matchAll(ALIAS)) {
      const name = m[1] as string;
      if (name !== "Values") aliases.set(name, [...(aliases.get(name) ?? []), (m[2] ?? "").split(".").filter(Boolean)]);
    }
  const aliasRead =
    aliases.size > 0 ? new RegExp(`\\.(${[...aliases.keys()].join("|")})((?:\\.${IDENT})*)(?![\\w.])`, "g") : undefined;
  for (const text of plain) {
    // Handing a subtree to a helper under a name reads what the helper reads of it, not all of it.
    const rest = text.replace(ALIAS, "").replace(INDEX_READ, readByName).replace(KEY_READ, readByName);
    for (const m of rest.matchAll(DOT_READ)) nodeAt(into, (m[1] ?? "").split(".").filter(Boolean)).open = true;
    for (const m of aliasRead ? rest.matchAll(aliasRead) : []) {
      for (const base of aliases.get(m[1] as string) ?? []) {
        const path = [...base, ...(m[2] ?? "").split(".").filter(Boolean)];
        if (path.length > 0) nodeAt(into, path).open = true; // the whole values under a name: as `.Values`
      }
    }
  }
  return into;
}

/**
 * Everything a packaged chart knows: its defaults, schema and templates, with each subchart's
 * under its name (or alias), Chart.yaml's dependency conditions and tags, and `global`, which
 * every chart may read. A library chart's helpers run on the parent's values: its templates are
 * read as the parent's.
 */
export function chartKeyTree(files: ChartFiles): KeyTree {
  const top = topChart(files);
  return top ? keyTreeOf(top) : newTree(true);
}

interface ChartDir {
  files: ChartFiles;
  /** Folder inside the archive, with its trailing slash. */
  dir: string;
  meta: Record<string, unknown>;
}

function topChart(files: ChartFiles): ChartDir | undefined {
  const chartYaml = [...files.keys()].find((p) => /^[^/]+\/Chart\.yaml$/.test(p));
  if (!chartYaml) return undefined;
  const meta = (parse(files.get(chartYaml)?.toString("utf8") ?? "") ?? {}) as Record<string, unknown>;
  return { files, dir: chartYaml.slice(0, -"Chart.yaml".length), meta };
}

const textIn = (chart: ChartDir, name: string) => chart.files.get(`${chart.dir}${name}`)?.toString("utf8");

const templatesOf = (chart: ChartDir): string[] =>
  [...chart.files.keys()]
    .filter((p) => p.startsWith(`${chart.dir}templates/`))
    .map((p) => chart.files.get(p)?.toString("utf8") ?? "");

function keyTreeOf(chart: ChartDir): KeyTree {
  const tree = treeFromDefaults(parse(textIn(chart, "values.yaml") ?? "") ?? {});
  const schema = textIn(chart, "values.schema.json");
  if (schema) mergeInto(tree, treeFromSchema(JSON.parse(schema)));
  const subs = subcharts(chart);
  const libraries = subs.filter((s) => s.meta.type === "library");
  mergeInto(tree, treeFromTemplates([...templatesOf(chart), ...libraries.flatMap(templatesOf)]));
  childOf(tree, "global").open = true;
  const deps = (Array.isArray(chart.meta.dependencies) ? chart.meta.dependencies : []) as Record<string, unknown>[];
  for (const dep of deps) {
    for (const condition of String(dep.condition ?? "").split(","))
      if (condition.trim()) nodeAt(tree, condition.trim().split(".")).open = true;
    for (const tag of Array.isArray(dep.tags) ? dep.tags : []) nodeAt(tree, ["tags", String(tag)]).open = true;
  }
  for (const sub of subs) {
    const name = String(sub.meta.name ?? "");
    const alias = deps.find((d) => d.name === name)?.alias;
    mergeInto(childOf(tree, typeof alias === "string" ? alias : name), keyTreeOf(sub));
  }
  return tree;
}

/** The charts under `charts/`, as folders or as packages inside the package. */
function subcharts(chart: ChartDir): ChartDir[] {
  const out: ChartDir[] = [];
  const prefix = `${chart.dir}charts/`;
  for (const [path, content] of chart.files) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    if (/^[^/]+\/Chart\.yaml$/.test(rest)) {
      const meta = (parse(content.toString("utf8")) ?? {}) as Record<string, unknown>;
      out.push({ files: chart.files, dir: `${prefix}${rest.slice(0, -"Chart.yaml".length)}`, meta });
    } else if (/^[^/]+\.tgz$/.test(rest)) {
      const inner = topChart(untar(gunzipSync(content)));
      if (inner) out.push(inner);
    }
  }
  return out;
}

export interface UnknownKey {
  /** Path under spec.values. */
  path: PathSegment[];
  /** The known sibling closest to it, if the level has any. */
  closest?: string;
}

/** Keys of `values` the chart does not know, outermost first (nothing below an unknown key is reported). */
export function unknownValuesKeys(values: unknown, known: KeyTree, path: PathSegment[] = []): UnknownKey[] {
  if (!isMap(values) || known.open) return [];
  const out: UnknownKey[] = [];
  for (const [key, value] of Object.entries(values)) {
    const child = known.children.get(key);
    if (child) {
      out.push(...unknownValuesKeys(value, child, [...path, key]));
      continue;
    }
    const closest = closestKey(key, [...known.children.keys()]);
    out.push({ path: [...path, key], ...(closest ? { closest } : {}) });
  }
  return out;
}

function closestKey(key: string, candidates: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const c of candidates) {
    const distance = editDistance(key.toLowerCase(), c.toLowerCase());
    if (!best || distance < best.distance) best = { key: c, distance };
  }
  return best?.key;
}
