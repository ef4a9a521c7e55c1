// The thin I/O shell around renderAll: write the file map into the repository, or compare it.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { FileMap } from "./index.ts";

export interface Drift {
  path: string;
  reason: "missing" | "differs";
}

export async function findDrift(root: string, files: FileMap): Promise<Drift[]> {
  const drift: Drift[] = [];
  for (const [path, content] of Object.entries(files)) {
    let current: string | undefined;
    try {
      current = await readFile(join(root, path), "utf8");
    } catch {
      current = undefined;
    }
    if (current === undefined) drift.push({ path, reason: "missing" });
    else if (current !== content) drift.push({ path, reason: "differs" });
  }
  return drift;
}

/** Writes only files whose content changed, each through a temp file + rename so none is left half-written. */
export async function writeFiles(root: string, files: FileMap): Promise<string[]> {
  const changed = (await findDrift(root, files)).map((d) => d.path);
  for (const path of changed) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.ktsw-tmp-${process.pid}`;
    await writeFile(temp, files[path] ?? "");
    await rename(temp, target);
  }
  return changed;
}
