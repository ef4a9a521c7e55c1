// What validate keeps on disk between runs (rendered charts, policy results), keyed by a digest of
// everything that determines it: inputs and the programs' own bytes. One entry is one file, written
// under another name first and renamed, so a concurrent reader never sees half of it.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const fileDigests = new Map<string, string>();

/** SHA-256 of a file's bytes, remembered per (path, size, mtime) for the process. */
export function fileDigest(file: string): string {
  const stat = statSync(file);
  const id = `${file}\0${stat.size}\0${stat.mtimeMs}`;
  let digest = fileDigests.get(id);
  if (!digest) {
    digest = createHash("sha256").update(readFileSync(file)).digest("hex");
    fileDigests.set(id, digest);
  }
  return digest;
}

/**
 * A program's identity for a cache key: where it is, its size, inode and change time. Hashing the
 * bytes of helm, gator and kustomize (200 MB together) on every run cost more than the work they
 * save; installing or rebuilding a program gives it a new change time (ctime cannot be set back).
 */
export function programDigest(file: string): string {
  const stat = statSync(file);
  return `${file}\0${stat.size}\0${stat.ino}\0${stat.ctimeMs}`;
}

/** The key of an entry: a digest of its inputs (anything JSON can write). */
export function cacheKey(inputs: unknown): string {
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}

export function readCached(dir: string | undefined, key: string): string | undefined {
  const file = dir ? join(dir, key) : undefined;
  return file && existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

export function writeCached(dir: string | undefined, key: string, text: string): void {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, key);
  writeFileSync(`${file}.${process.pid}`, text);
  renameSync(`${file}.${process.pid}`, file);
}

/**
 * Objects made by `make` (a chart render, a kustomize build), kept under `key`: read back when
 * present, else made and kept. A failure is never kept: it is made again next time.
 */
export async function cachedObjects<O>(
  dir: string | undefined,
  key: string,
  make: () => Promise<{ objects: O[]; error?: string }>,
): Promise<{ objects: O[]; error?: string }> {
  const cached = readCached(dir, key);
  if (cached !== undefined) return { objects: JSON.parse(cached) as O[] };
  const out = await make();
  if (!out.error) writeCached(dir, key, JSON.stringify(out.objects));
  return out;
}
