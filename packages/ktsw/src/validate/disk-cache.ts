// What validate keeps on disk between runs (rendered charts, policy results), keyed by a digest of
// everything that determines it: inputs and the programs' own bytes. One entry is one file, written
// under another name first and renamed, so a concurrent reader never sees half of it.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";

const fileDigests = new Map<string, string>();

/**
 * Digests kept between runs, by a file's path, size, modification time, inode and change time: hashing every file
 * of the repository again on each run (a kustomize build's key) cost more than any check. Any write to a file gives
 * it a new change time, which nobody can set back, so an entry cannot go stale unseen; but the kernel's clock ticks
 * in milliseconds, and a file written twice in one tick keeps its times. So, as Git does with "racily clean" files,
 * a digest is kept only for a file last changed at least `racyMs` before it was read (0: always, for tests).
 */
interface KeptDigests {
  file: string;
  entries: Map<string, string>;
  changed: boolean;
  racyMs: number;
}
let kept: KeptDigests | undefined;

/** Reads the digests kept in `dir` (file-digests.json) and keeps new ones there on saveFileDigests(). */
export function keepFileDigestsIn(dir: string, racyMs = 1_000): void {
  const file = join(dir, "file-digests.json");
  let entries = new Map<string, string>();
  try {
    entries = new Map(Object.entries(JSON.parse(readFileSync(file, "utf8")) as Record<string, string>));
  } catch {
    // none yet, or unreadable: made again
  }
  kept = { file, entries, changed: false, racyMs };
  fileDigests.clear(); // a run of its own: what this process remembered is asked of the kept entries again
}

/** Writes the kept digests back when this run added any (under another name, then renamed). */
export function saveFileDigests(): void {
  if (!kept?.changed) return;
  writeCached(dirname(kept.file), basename(kept.file), JSON.stringify(Object.fromEntries(kept.entries)));
  kept.changed = false;
}

/** SHA-256 of a file's bytes, remembered per (path, size, mtime) for the process, and between runs as kept above. */
export function fileDigest(file: string): string {
  const stat = statSync(file);
  const id = `${file}\0${stat.size}\0${stat.mtimeMs}`;
  let digest = fileDigests.get(id);
  if (digest) return digest;
  const keptId = `${id}\0${stat.ino}\0${stat.ctimeMs}`;
  digest = kept?.entries.get(keptId);
  if (!digest) {
    digest = createHash("sha256").update(readFileSync(file)).digest("hex");
    if (kept && (kept.racyMs <= 0 || Date.now() - Math.max(stat.mtimeMs, stat.ctimeMs) >= kept.racyMs)) {
      kept.entries.set(keptId, digest);
      kept.changed = true;
    }
  }
  fileDigests.set(id, digest);
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

/** The key of an entry: a digest of its inputs (anything JSON can write), and of large texts as they are (each
 *  with its length first, so two lists of texts never key alike): JSON-quoting megabytes only to hash them cost
 *  more than the hash. */
export function cacheKey(inputs: unknown, ...texts: string[]): string {
  const hash = createHash("sha256").update(JSON.stringify(inputs));
  for (const text of texts) hash.update(`\0${Buffer.byteLength(text)}\0`).update(text);
  return hash.digest("hex");
}

/** An entry's text; with `secret`, opened with the key derived from it (undefined when it does not open). */
export function readCached(dir: string | undefined, key: string, secret?: string): string | undefined {
  const file = dir ? join(dir, key) : undefined;
  if (!file || !existsSync(file)) return undefined;
  return secret === undefined ? readFileSync(file, "utf8") : unseal(readFileSync(file), sealKey(secret, key));
}

export function writeCached(dir: string | undefined, key: string, text: string, secret?: string): void {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, key);
  writeFileSync(`${file}.${process.pid}`, secret === undefined ? text : seal(text, sealKey(secret, key)));
  renameSync(`${file}.${process.pid}`, file);
}

/** AES-256 key for one entry: HKDF-SHA256 of the secret, salted with the entry's key. */
const sealKey = (secret: string, key: string): Buffer =>
  Buffer.from(hkdfSync("sha256", secret, key, "ktsw disk cache entry", 32));

/** AES-256-GCM: a fresh 12-byte nonce, the 16-byte tag, then the ciphertext. */
function seal(text: string, key: Buffer): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  const body = Buffer.concat([cipher.update(text, "utf8"), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]);
}

function unseal(sealed: Buffer, key: Buffer): string | undefined {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    return undefined; // not sealed with this secret (or damaged): made again
  }
}

/**
 * Objects made by `make` (a chart render, a kustomize build), kept under `key`: read back when
 * present, else made and kept. A failure is never kept: it is made again next time. With `secret`
 * (what the objects were made from that Git only holds encrypted: a chart's values from a SOPS
 * Secret), the entry is sealed with a key derived from it, so the cache holds nothing that a reader
 * without the secret can open.
 */
export async function cachedObjects<O>(
  dir: string | undefined,
  key: string,
  make: () => Promise<{ objects: O[]; error?: string }>,
  secret?: string,
): Promise<{ objects: O[]; error?: string }> {
  const kept = readCached(dir, key, secret);
  if (kept !== undefined) return { objects: JSON.parse(kept) as O[] };
  const out = await make();
  if (!out.error) writeCached(dir, key, JSON.stringify(out.objects), secret);
  return out;
}

/** Format of keptYamlValues' entries; change it when they change. */
const YAML_VALUES_FORMAT = 1;

/**
 * Every document of a YAML text as plain values, kept by the text in `dir`: the yaml package builds a syntax tree
 * first, which costs many times a JSON.parse of the same values. Undefined for a text with errors (never kept):
 * the caller reports them its own way.
 */
export function keptYamlValues(dir: string | undefined, text: string): unknown[] | undefined {
  const key = `yaml-${cacheKey([YAML_VALUES_FORMAT], text)}.json`;
  const kept = readCached(dir, key);
  if (kept !== undefined) return JSON.parse(kept) as unknown[];
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) return undefined;
  const values = docs.map((d) => d.toJS() as unknown);
  writeCached(dir, key, JSON.stringify(values));
  return values;
}

/**
 * A set of digests kept in one file between runs (objects known valid, say). What a run saves is what it used: the
 * digests it found or added, so entries of objects no longer in the tree go with the next save.
 */
export function keptDigestSet(file: string): { has(d: string): boolean; add(d: string): void; save(): void } {
  let before = new Set<string>();
  try {
    before = new Set(JSON.parse(readFileSync(file, "utf8")) as string[]);
  } catch {
    // none yet, or unreadable: the set starts empty
  }
  const used = new Set<string>();
  return {
    has(d) {
      if (!before.has(d)) return false;
      used.add(d);
      return true;
    },
    add(d) {
      used.add(d);
    },
    save() {
      if (used.size === before.size && [...used].every((d) => before.has(d))) return;
      writeCached(dirname(file), basename(file), JSON.stringify([...used]));
    },
  };
}
