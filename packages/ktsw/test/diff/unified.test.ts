// The unified diff `ktsw diff` prints: the same hunks `diff -u` prints, checked on small cases by hand
// and on random ones by applying the result with `git apply` (exact context, no fuzz).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { unifiedDiff } from "../../src/diff/unified.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";

const git = findTool("git");
if (!git) console.warn(`SKIPPING the random unified-diff round trips: ${missingToolMessage("git")}`);

const labels = { from: "a/f", to: "b/f" };
const lines = (n: number, prefix = "line") => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}\n`).join("");

describe("unifiedDiff", () => {
  test("equal texts: no diff at all", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n", labels)).toBe("");
  });

  test("one changed line: its hunk with three lines of context either side", () => {
    const before = lines(10);
    const after = before.replace("line 5\n", "line five\n");
    expect(unifiedDiff(before, after, labels)).toBe(
      [
        "--- a/f",
        "+++ b/f",
        "@@ -2,7 +2,7 @@",
        " line 2",
        " line 3",
        " line 4",
        "-line 5",
        "+line five",
        " line 6",
        " line 7",
        " line 8",
        "",
      ].join("\n"),
    );
  });

  test("changes more than six lines apart get separate hunks; closer ones share one", () => {
    const before = lines(30);
    const apart = before.replace("line 3\n", "x\n").replace("line 20\n", "y\n");
    expect(unifiedDiff(before, apart, labels).match(/^@@/gm)).toHaveLength(2);
    const close = before.replace("line 3\n", "x\n").replace("line 9\n", "y\n");
    expect(unifiedDiff(before, close, labels).match(/^@@/gm)).toHaveLength(1);
  });

  test("a new file is all additions from line 0, as diff writes it", () => {
    expect(unifiedDiff("", "a\nb\n", { from: "/dev/null", to: "b/f" })).toBe(
      "--- /dev/null\n+++ b/f\n@@ -0,0 +1,2 @@\n+a\n+b\n",
    );
  });

  test("a missing final newline is a difference, and is marked", () => {
    expect(unifiedDiff("a\n", "a", labels)).toBe(
      "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+a\n\\ No newline at end of file\n",
    );
  });

  test("one line changed in a 20 000-line text: one small hunk", () => {
    const before = lines(20_000);
    const out = unifiedDiff(before, before.replace("line 12345\n", "changed\n"), labels);
    expect(out.split("\n")).toHaveLength(12);
    expect(out).toContain("@@ -12342,7 +12342,7 @@");
  });

  test.skipIf(!git)("random edits: git apply turns the old text into the new one with the diff", () => {
    const dir = mkdtempSync(join(tmpdir(), "ktsw-unified-"));
    try {
      let seed = 7;
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (let round = 0; round < 100; round++) {
        const a = Array.from({ length: random(40) }, () => "abcdefgh"[random(8)]);
        const b = [...a];
        for (let e = random(8); e > 0; e--) {
          const at = random(b.length + 1);
          if (random(2)) b.splice(at, 1);
          else b.splice(at, 0, "xyz"[random(3)] as string);
        }
        const before = a.join("\n") + (random(4) ? "\n" : "");
        const after = b.join("\n") + (random(4) ? "\n" : "");
        const diff = unifiedDiff(before, after, labels);
        writeFileSync(join(dir, "f"), before);
        writeFileSync(join(dir, "p"), diff);
        // Outside a repository git apply works like patch, but refuses a hunk whose context is off.
        if (diff) execFileSync(git as string, ["apply", "p"], { cwd: dir, stdio: "pipe" });
        expect(readFileSync(join(dir, "f"), "utf8"), `${JSON.stringify(before)} -> ${JSON.stringify(after)}`).toBe(
          after,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
