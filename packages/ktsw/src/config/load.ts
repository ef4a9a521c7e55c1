// Reads ktsw.yaml into a typed config, or into a list of findings that each name file, line,
// column and path. Syntax errors, shape errors and cross-field errors all come out the same way,
// all at once, so one run shows everything to fix.
import { readFile } from "node:fs/promises";
import { type Document, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { type Finding, finding } from "../diagnostics.ts";
import { formatPath, locate, type PathSegment } from "./locate.ts";
import { configSchema, type KtswConfig } from "./schema.ts";
import { semanticProblems } from "./semantics.ts";

export interface LoadResult {
  config?: KtswConfig;
  findings: Finding[];
}

function describeIssue(doc: Document, issue: z.core.$ZodIssue): string {
  const present = doc.hasIn(issue.path as PathSegment[]);
  if (!present && issue.code === "invalid_type") return `is required: expected ${issue.expected}`;
  return issue.message;
}

/** Levenshtein distance, small inputs only: enough to turn "gatway" into a "did you mean". */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** A missing key next to an unknown one is usually the same key misspelt: name it. */
function unknownKeyMessage(doc: Document, issues: z.core.$ZodIssue[], parent: PathSegment[], key: string): string {
  const missing = issues
    .filter((i) => i.code === "invalid_type" && i.path.length === parent.length + 1)
    .filter((i) => parent.every((seg, n) => i.path[n] === seg) && !doc.hasIn(i.path as PathSegment[]))
    .map((i) => String(i.path[parent.length]));
  const guess = missing.find((m) => editDistance(m, key) <= 2);
  return guess ? `unknown key (did you mean "${guess}"?)` : "unknown key";
}

function schemaFindings(file: string, doc: Document, lines: LineCounter, issues: z.core.$ZodIssue[]): Finding[] {
  return issues.flatMap((issue) => {
    const path = issue.path as PathSegment[];
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) =>
        finding(
          { file, ...locate(doc, lines, [...path, key], true), path: formatPath([...path, key]) },
          unknownKeyMessage(doc, issues, path, key),
          "config.unknown-key",
        ),
      );
    }
    return [
      finding(
        { file, ...locate(doc, lines, path), path: formatPath(path) },
        describeIssue(doc, issue),
        "config.schema",
      ),
    ];
  });
}

/** Pure: text in, config or findings out. */
export function parseConfig(text: string, file = "ktsw.yaml"): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      findings: doc.errors.map((e) =>
        finding({ file, ...lines.linePos(e.pos[0]) }, `YAML syntax: ${e.message.split("\n")[0]}`, "config.yaml-syntax"),
      ),
    };
  }
  const parsed = configSchema.safeParse(doc.toJS());
  if (!parsed.success) return { findings: schemaFindings(file, doc, lines, parsed.error.issues) };
  const findings = semanticProblems(parsed.data).map((p) =>
    finding({ file, ...locate(doc, lines, p.path), path: formatPath(p.path) }, p.message, p.rule),
  );
  return findings.length > 0 ? { findings } : { config: parsed.data, findings };
}

export async function loadConfig(file: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found (run `ktsw init` to create one)" : String(err);
    return { findings: [finding({ file }, reason, "config.read")] };
  }
  return parseConfig(text, file);
}
