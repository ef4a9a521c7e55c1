// Every YAML file of the GitOps tree, parsed once with positions. Later checks work on kustomize's
// output, which has no positions; they find an object's source document here by kind and name, so
// every finding can still say file:line:col.
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { type Document, isMap, LineCounter, parseAllDocuments } from "yaml";
import { locate, type PathSegment } from "../config/locate.ts";
import { type Finding, finding, type Severity } from "../diagnostics.ts";

export interface SourceDoc {
  /** Relative to the repository root. */
  file: string;
  doc: Document;
  lines: LineCounter;
  object: Record<string, unknown>;
  /** 1-based position of the document's first content node. */
  line: number;
  col: number;
}

export interface SourceTree {
  docs: SourceDoc[];
  /** file -> raw text, for locating `${VAR}` uses. */
  texts: Map<string, string>;
  findings: Finding[];
}

const YAML_FILE = /\.ya?ml$/;

async function listYamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return (
    entries
      .filter((e) => e.isFile() && YAML_FILE.test(e.name))
      // parentPath arrived in Node 20.12; 20.11 (our engines floor) names it path.
      .map((e) => join(e.parentPath ?? e.path, e.name))
      .sort()
  );
}

export function parseSource(file: string, text: string): { docs: SourceDoc[]; findings: Finding[] } {
  const lines = new LineCounter();
  // uniqueKeys (the default) makes a duplicate key an error: Kubernetes would keep only one of them.
  const parsed = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const docs: SourceDoc[] = [];
  const findings: Finding[] = [];
  const all = Array.isArray(parsed) ? parsed : [];
  if (!Array.isArray(parsed)) {
    findings.push(finding({ file, line: 1, col: 1 }, "not YAML", "yaml.parse"));
  }
  for (const doc of all) {
    for (const err of doc.errors) {
      const pos = lines.linePos(err.pos[0]);
      const message =
        err.code === "DUPLICATE_KEY" ? `duplicate key: ${firstLine(err.message)}` : firstLine(err.message);
      findings.push(finding({ file, ...pos }, message, "yaml.parse"));
    }
    if (doc.errors.length > 0 || !isMap(doc.contents)) continue;
    const start = lines.linePos(doc.contents.range[0]);
    docs.push({ file, doc, lines, object: doc.toJS() as Record<string, unknown>, line: start.line, col: start.col });
  }
  return { docs, findings };
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}

export async function readSourceTree(root: string, treeDir: string): Promise<SourceTree> {
  const files = await listYamlFiles(join(root, treeDir));
  const texts = new Map<string, string>();
  const results = await Promise.all(
    files.map(async (abs) => {
      const file = relative(root, abs);
      const text = await readFile(abs, "utf8");
      texts.set(file, text);
      return parseSource(file, text);
    }),
  );
  return { docs: results.flatMap((r) => r.docs), findings: results.flatMap((r) => r.findings), texts };
}

export function position(src: SourceDoc, path: readonly PathSegment[], pointAtKey = false) {
  return locate(src.doc, src.lines, path, pointAtKey);
}

/**
 * A finding at `path` inside the object's source document (no file or position when the object has
 * no source); `[]` is the document itself. `pointAtKey` points at the key rather than its value.
 */
export function findingAt(
  src: SourceDoc | undefined,
  path: readonly PathSegment[],
  message: string,
  rule: string,
  opts: { pointAtKey?: boolean; severity?: Severity } = {},
): Finding {
  const pos = src ? position(src, path, opts.pointAtKey) : {};
  return finding({ file: src?.file ?? "", ...pos, path: path.join(".") }, message, rule, opts.severity);
}

/** `group/kind/name` — namespace left out because kustomize may set it. */
export function objectKey(o: Record<string, unknown>): string {
  const apiVersion = typeof o.apiVersion === "string" ? o.apiVersion : "";
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  const meta = (o.metadata ?? {}) as Record<string, unknown>;
  return `${group}/${String(o.kind)}/${String(meta.name)}`;
}

export function indexSources(docs: readonly SourceDoc[]): Map<string, SourceDoc[]> {
  const index = new Map<string, SourceDoc[]>();
  for (const d of docs) {
    const key = objectKey(d.object);
    index.set(key, [...(index.get(key) ?? []), d]);
  }
  return index;
}
