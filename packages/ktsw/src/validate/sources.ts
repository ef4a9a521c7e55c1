// Every YAML file of the GitOps tree, parsed once with positions. Later checks work on kustomize's
// output, which has no positions; they find an object's source document here by kind and name, so
// every finding can still say file:line:col.
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type Document, isMap, LineCounter, parseAllDocuments } from "yaml";
import { locate, type PathSegment } from "../config/locate.ts";
import { type Finding, finding, type Severity } from "../diagnostics.ts";
import { cacheKey, fileDigest, readCached, writeCached } from "./disk-cache.ts";

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

/** What a clean file's parse leaves to keep: each mapping document's object and where it starts. */
type Kept = { object: Record<string, unknown>; line: number; col: number }[];

const THIS_CODE = fileURLToPath(import.meta.url);

/**
 * A file's parse, kept between runs by its text (and this code): the objects and their start
 * positions come back at once; the YAML syntax trees, which only findings need (for file:line:col),
 * are made the first time one is asked for. A file with errors is never kept: it is parsed each
 * time, and its findings come from that parse.
 */
function keptParse(file: string, text: string, cacheDir: string): { docs: SourceDoc[]; findings: Finding[] } {
  const key = `${cacheKey([fileDigest(THIS_CODE), text])}.json`;
  const kept = readCached(cacheDir, key);
  if (kept === undefined) {
    const parsed = parseSource(file, text);
    if (parsed.findings.length === 0)
      writeCached(
        cacheDir,
        key,
        JSON.stringify(parsed.docs.map((d) => ({ object: d.object, line: d.line, col: d.col }))),
      );
    return parsed;
  }
  let full: SourceDoc[] | undefined;
  const parsedDoc = (i: number) => {
    full ??= parseSource(file, text).docs;
    return full[i] as SourceDoc;
  };
  const docs = (JSON.parse(kept) as Kept).map(
    (k, i): SourceDoc => ({
      file,
      ...k,
      get doc() {
        return parsedDoc(i).doc;
      },
      get lines() {
        return parsedDoc(i).lines;
      },
    }),
  );
  return { docs, findings: [] };
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}

/** `cacheDir`: where parses are kept between runs (see keptParse); none: every file is parsed. */
export async function readSourceTree(root: string, treeDir: string, cacheDir?: string): Promise<SourceTree> {
  const files = await listYamlFiles(join(root, treeDir));
  const texts = new Map<string, string>();
  const results = await Promise.all(
    files.map(async (abs) => {
      const file = relative(root, abs);
      const text = await readFile(abs, "utf8");
      texts.set(file, text);
      return cacheDir ? keptParse(file, text, cacheDir) : parseSource(file, text);
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
