// Edits to one YAML file that leave every other byte as it was. The `yaml` package's Document API finds the nodes
// and their source ranges; the edit is spliced into the original text, because re-printing a document reflows
// lines, quotes and blank lines the author chose (about a third of the tree's files would change). The result is
// checked against the same edit made through the Document API, so a splice can never say something else.
import { type Document, isMap, isScalar, parseAllDocuments, type Scalar } from "yaml";

export interface FieldEdit {
  /** Which document of the file (0-based, as parseAllDocuments returns them). */
  doc: number;
  /** A field path from the document's root, e.g. ["spec", "url"]. */
  path: readonly string[];
  /** The new string value; undefined: remove the field. */
  value?: string;
}

interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** A scalar written in the quoting style the old one used. */
function scalarLike(old: Scalar, value: string): string {
  if (old.type === "QUOTE_DOUBLE") return JSON.stringify(value);
  if (old.type === "QUOTE_SINGLE") return `'${value.replaceAll("'", "''")}'`;
  return value;
}

function textEdit(text: string, doc: Document, edit: FieldEdit): TextEdit {
  const parentPath = edit.path.slice(0, -1);
  const key = edit.path.at(-1) as string;
  const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  const where = edit.path.join(".");
  if (!isMap(parent)) throw new Error(`${where}: its parent is not a block map`);
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (edit.value !== undefined) {
    if (!pair || !isScalar(pair.value) || !pair.value.range)
      throw new Error(`${where}: not a scalar field, cannot be set in place`);
    const [start, valueEnd] = pair.value.range;
    return { start, end: valueEnd, text: scalarLike(pair.value, edit.value) };
  }
  if (!pair || !isScalar(pair.key) || !pair.key.range) throw new Error(`${where}: no such field to remove`);
  // The whole `key: value` entry, from its line's start through the end of its value's last line.
  const start = text.lastIndexOf("\n", pair.key.range[0] - 1) + 1;
  let end = (pair.value as { range?: [number, number, number] } | null)?.range?.[2] ?? pair.key.range[2];
  if (text[end - 1] !== "\n") {
    const newline = text.indexOf("\n", end);
    end = newline === -1 ? text.length : newline + 1;
  }
  return { start, end, text: "" };
}

/** `text` with the edits made, every other byte unchanged. Throws when a field is missing or not plain YAML. */
export function spliceYaml(text: string, edits: readonly FieldEdit[]): string {
  if (edits.length === 0) return text;
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error("not YAML");
  const expected = docs.map((d) => d.clone());
  const textEdits = edits.map((e) => {
    const doc = docs[e.doc];
    const clone = expected[e.doc];
    if (!doc || !clone) throw new Error(`no document ${e.doc}`);
    if (e.value === undefined) clone.deleteIn(e.path);
    else clone.setIn(e.path, e.value);
    return textEdit(text, doc, e);
  });
  let out = text;
  for (const t of [...textEdits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, t.start) + t.text + out.slice(t.end);
  }
  const again = parseAllDocuments(out);
  const same =
    Array.isArray(again) &&
    again.length === expected.length &&
    again.every((d, i) => JSON.stringify(d.toJS()) === JSON.stringify(expected[i]?.toJS()));
  if (!same) throw new Error(`editing ${edits.map((e) => e.path.join(".")).join(", ")} in place went wrong`);
  return out;
}
