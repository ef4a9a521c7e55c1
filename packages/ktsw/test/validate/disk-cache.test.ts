// Entries made from secrets are sealed: they open with the secret they were made from, and only with it.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { cachedObjects, cacheKey, readCached, writeCached } from "../../src/validate/disk-cache.ts";

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
