// Reads Kubernetes YAML files into PolicyInput entries (one per document), keeping each
// document's parse tree so findings can point at the exact line of the field a message names.
import { readFileSync } from "node:fs";
import { isMap, LineCounter, parseAllDocuments } from "yaml";
import { locate, type PathSegment } from "../config/locate.ts";
import type { PolicyInput } from "./check.ts";

export function policyInputsFromText(file: string, text: string): PolicyInput[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines });
  return docs.flatMap((doc) => {
    if (doc.errors.length > 0 || !isMap(doc.contents)) return [];
    const start = lines.linePos(doc.contents.range[0]);
    return [
      {
        file,
        line: start.line,
        col: start.col,
        object: doc.toJS() as unknown,
        locate: (path: readonly PathSegment[]) => locate(doc, lines, path),
      },
    ];
  });
}

export function policyInputsFromFiles(files: readonly string[]): PolicyInput[] {
  return files.flatMap((file) => policyInputsFromText(file, readFileSync(file, "utf8")));
}
