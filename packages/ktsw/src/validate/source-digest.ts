// What a kustomize build may read: any file of the source it builds from (Flux's builds use no
// load restrictor, so a folder may pull in `../../components`). A digest of every file of the
// source is therefore the one key that can never go stale; an edit anywhere in it builds again.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { cacheKey, fileDigest } from "./disk-cache.ts";

/**
 * Digest of the files of a folder in a Git work tree (names and bytes): those Git tracks or would
 * track (untracked, not ignored), because an ignored file never reaches the cluster's source
 * either. Undefined outside Git.
 */
export function gitSourceDigest(dir: string): string | undefined {
  return digestOf(dir, gitFiles(dir));
}

/** Digest of every file under a folder (an offline copy of an upstream source); undefined when unreadable. */
export function folderDigest(dir: string): string | undefined {
  return digestOf(dir, folderFiles(dir));
}

function digestOf(dir: string, files: string[] | undefined): string | undefined {
  if (!files) return undefined;
  files.sort();
  return cacheKey(files.map((f) => [f, existsSync(join(dir, f)) ? fileDigest(join(dir, f)) : "deleted"]));
}

function gitFiles(dir: string): string[] | undefined {
  try {
    const out = execFileSync("git", ["-C", dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "ignore"],
    });
    // A tracked file deleted in the work tree is listed too: it keys as "deleted".
    return [...new Set(out.split("\0").filter(Boolean))];
  } catch {
    return undefined;
  }
}

function folderFiles(dir: string): string[] | undefined {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
  } catch {
    return undefined;
  }
}
