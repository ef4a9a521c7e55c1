import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { type Dashboard, isDashboard } from "./grafana.ts";
import type { VmRule } from "./rules.ts";

// Every dashboard and every VMRule anywhere in the GitOps tree, found by what they are, not where they are: the
// app's and the platform's alike, so one added later is proven without naming it here.

export const treeRoot = fileURLToPath(new URL("../../../../../kubernetes/", import.meta.url));

const filesUnder = (root: string, ext: RegExp) =>
  (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => ext.test(f) && !f.endsWith(".sops.yaml"))
    .map((f) => join(root, f));

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

interface Found<T> {
  /** file (relative to the tree) and, for one inside a ConfigMap, its key */
  source: string;
  doc: T;
}

const yamlDocs = (root: string) =>
  filesUnder(root, /\.ya?ml$/).flatMap((file) =>
    parseAllDocuments(readFileSync(file, "utf8")).map((d) => ({
      file: relative(root, file),
      obj: d.toJS() as unknown,
    })),
  );

/** Every string inside a parsed YAML value, with the path of keys to it. */
function strings(value: unknown, path: string[] = []): { path: string[]; text: string }[] {
  if (typeof value === "string") return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, [...path, String(i)]));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => strings(v, [...path, k]));
  return [];
}

/**
 * Dashboards: JSON files that are dashboards, and dashboard JSON held in a string anywhere in a manifest (a
 * ConfigMap's data for Grafana's sidecar, a HelmRelease's values for the Grafana chart).
 */
export function treeDashboards(root = treeRoot): Found<Dashboard>[] {
  const files = filesUnder(root, /\.json$/).flatMap((file) => {
    const doc = parseJson(readFileSync(file, "utf8"));
    return isDashboard(doc) ? [{ source: relative(root, file), doc }] : [];
  });
  const inManifests = yamlDocs(root).flatMap(({ file, obj }) =>
    strings(obj).flatMap(({ path, text }) => {
      const doc = text.trimStart().startsWith("{") ? parseJson(text) : undefined;
      return isDashboard(doc) ? [{ source: `${file} ${path.join(".")}`, doc }] : [];
    }),
  );
  return [...files, ...inManifests];
}

/** VMRule objects of the tree. */
export function treeVmRules(root = treeRoot): Found<VmRule>[] {
  return yamlDocs(root)
    .filter(({ obj }) => (obj as VmRule | null)?.kind === "VMRule")
    .map(({ file, obj }) => ({ source: file, doc: obj as VmRule }));
}
