// Every *.sops.yaml of the repository (dependencies, caches and test fixtures left out: fixtures
// hold deliberate mistakes).
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";

const SKIP = new Set(["node_modules", ".git", ".cache", ".ktsw", "fixtures"]);

export async function listSopsFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!SKIP.has(e.name)) await walk(join(dir, e.name));
      } else if (e.isFile() && e.name.endsWith(".sops.yaml") && e.name !== ".sops.yaml")
        out.push(relative(root, join(dir, e.name)));
    }
  };
  await walk(root);
  return out.sort();
}
