// Maps a path inside a parsed YAML document (["nodes", 1, "addresses", "nodes"]) to the line and
// column a person should look at. When the path does not exist (a missing key), it points at the
// nearest existing parent, which is where the key has to be added.
import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";

export type PathSegment = string | number;

export interface Position {
  line: number;
  col: number;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

function child(node: unknown, seg: PathSegment): { value: Node | null; key: Node | null } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (String(key) === String(seg)) {
        return { value: (pair.value as Node | null) ?? null, key: (pair.key as Node | null) ?? null };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof seg === "number") {
    const item = node.items[seg];
    return item === undefined ? undefined : { value: isPair(item) ? null : (item as Node), key: null };
  }
  return undefined;
}

/**
 * Position of `path` in `doc`. `pointAtKey` selects the key rather than the value — right for
 * "unknown key" errors, where the key itself is the mistake.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly PathSegment[], pointAtKey = false): Position {
  let node: unknown = doc.contents;
  let best: Node | null = (doc.contents as Node | null) ?? null;
  for (const [i, seg] of path.entries()) {
    const next = child(node, seg);
    if (!next) break;
    const last = i === path.length - 1;
    const target = last && pointAtKey && next.key ? next.key : (next.value ?? next.key);
    if (target) best = target;
    node = next.value;
  }
  const offset = best?.range?.[0] ?? 0;
  const { line, col } = lines.linePos(offset);
  return { line, col };
}
