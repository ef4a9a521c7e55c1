// The tree's parses kept between runs: a kept file gives the same objects and the same positions
// (its syntax tree made again when a finding asks), and a file with errors is never kept.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { position, readSourceTree } from "../../src/validate/sources.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ktsw-parse-cache-"));
  const tree = join(root, "tree");
  mkdirSync(tree);
  writeFileSync(
    join(tree, "app.yaml"),
    "# two documents\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  key: one\n---\n\n  apiVersion: v1\n  kind: Secret\n  metadata:\n    name: b\n",
  );
  writeFileSync(join(tree, "broken.yaml"), "kind: ConfigMap\nkind: Twice\n");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("parses kept between runs", () => {
  test("a kept file gives the same objects, start positions and positions of paths; a broken one is not kept", async () => {
    const cache = join(root, "cache");
    const fresh = await readSourceTree(root, "tree");
    const first = await readSourceTree(root, "tree", cache);
    expect(readdirSync(cache)).toHaveLength(1); // app.yaml only: broken.yaml has a duplicate key
    const kept = await readSourceTree(root, "tree", cache);
    for (const tree of [first, kept]) {
      expect(tree.docs.map((d) => [d.file, d.object, d.line, d.col])).toEqual(
        fresh.docs.map((d) => [d.file, d.object, d.line, d.col]),
      );
      expect(tree.findings).toEqual(fresh.findings);
      expect(tree.docs.map((d) => position(d, ["metadata", "name"]))).toEqual(
        fresh.docs.map((d) => position(d, ["metadata", "name"])),
      );
    }
    expect(fresh.findings.map((f) => `${f.file}:${f.line}`)).toEqual(["tree/broken.yaml:2"]);
    expect(kept.docs.map((d) => position(d, ["metadata", "name"]))).toEqual([
      { line: 5, col: 9 },
      { line: 13, col: 11 },
    ]);
  });
});
