// Entries made from secrets are sealed: they open with the secret they were made from, and only with it.
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  cachedObjects,
  cacheKey,
  fileDigest,
  keepFileDigestsIn,
  keptYamlValues,
  readCached,
  saveFileDigests,
  writeCached,
} from "../../src/validate/disk-cache.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ktsw-disk-cache-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("a sealed entry holds no plaintext and opens with its secret alone", () => {
  writeCached(dir, "entry", "the database password is hunter2", "values-with-the-password");
  expect(readFileSync(join(dir, "entry"), "latin1")).not.toContain("hunter2");
  expect(readCached(dir, "entry", "values-with-the-password")).toBe("the database password is hunter2");
  expect(readCached(dir, "entry", "values-with-another-password")).toBeUndefined();
  expect(readCached(dir, "entry")).not.toContain("hunter2");
});

test("an entry that does not open with the secret is made again, and kept sealed with the new one", async () => {
  writeCached(dir, "render", JSON.stringify(["old"]), "old secret");
  let made = 0;
  const make = async () => {
    made++;
    return { objects: ["new"] };
  };
  expect(await cachedObjects(dir, "render", make, "new secret")).toEqual({ objects: ["new"] });
  expect(await cachedObjects(dir, "render", make, "new secret")).toEqual({ objects: ["new"] });
  expect(made).toBe(1);
});

test("a key hashes large texts as they are: the same inputs key alike, texts split otherwise key apart", () => {
  expect(cacheKey(["v1"], "ab", "c")).toBe(cacheKey(["v1"], "ab", "c"));
  expect(cacheKey(["v1"], "ab", "c")).not.toBe(cacheKey(["v1"], "a", "bc"));
  expect(cacheKey(["v1"], "ab")).not.toBe(cacheKey(["v1", "ab"]));
  expect(cacheKey(["v1"], "ab")).not.toBe(cacheKey(["v2"], "ab"));
});

describe("file digests kept between runs", () => {
  const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
  const keptFile = () => join(dir, "file-digests.json");
  const kept = () => JSON.parse(readFileSync(keptFile(), "utf8")) as Record<string, string>;

  test("a file unchanged since is not read again: its kept digest is what a later run uses", () => {
    const file = join(dir, "a.yaml");
    writeFileSync(file, "kind: A\n");
    keepFileDigestsIn(dir, 0);
    expect(fileDigest(file)).toBe(sha256("kind: A\n"));
    saveFileDigests();
    const [id] = Object.keys(kept());
    expect(id?.startsWith(`${file}\0`)).toBe(true);
    // Another run, whose kept entry says otherwise: it believes the entry, so the entry is what is used.
    writeFileSync(keptFile(), JSON.stringify({ [id as string]: "from-the-kept-entry" }));
    keepFileDigestsIn(dir, 0);
    expect(fileDigest(file)).toBe("from-the-kept-entry");
  });

  test("a changed file is hashed again, even with the same size and modification time", () => {
    const file = join(dir, "b.yaml");
    writeFileSync(file, "kind: B\n");
    keepFileDigestsIn(dir, 0);
    fileDigest(file);
    saveFileDigests();
    const before = statSync(file);
    writeFileSync(file, "kind: C\n");
    utimesSync(file, before.atime, before.mtime);
    keepFileDigestsIn(dir, 0);
    expect(fileDigest(file)).toBe(sha256("kind: C\n"));
  });

  test("a file changed just now is hashed but not kept (it could change again within the same clock tick)", () => {
    const file = join(dir, "c.yaml");
    writeFileSync(file, "kind: C\n");
    keepFileDigestsIn(dir, 60_000);
    expect(fileDigest(file)).toBe(sha256("kind: C\n"));
    saveFileDigests();
    expect(() => kept()).toThrow();
  });
});

describe("YAML kept as plain values", () => {
  test("every document's values, the same when read back as when parsed", () => {
    const text = "a: 1\nb: [x, y]\n---\nc: {d: true}\n";
    const first = keptYamlValues(dir, text);
    expect(first).toEqual([{ a: 1, b: ["x", "y"] }, { c: { d: true } }]);
    expect(readdirSync(dir)).toHaveLength(1);
    expect(keptYamlValues(dir, text)).toEqual(first);
  });

  test("a text with errors gives no values and keeps nothing (its caller reports the errors)", () => {
    expect(keptYamlValues(dir, "a: [1, 2\n")).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });
});
