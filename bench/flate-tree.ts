// The tree as flate can render it offline, for bench:validate: a scratch copy of kubernetes/ whose
// HelmRepositories point at a local HTTP server over the same chart cache ktsw validate reads
// (flate fetches HelmRepository index.yaml and charts over HTTP with Helm's getter), and whose
// GitRepositories on the internet point at a local Git repository made from the same offline copy
// ktsw validate builds (flate clones file:// sources). Both tools then render the same inputs.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { normalizeRepo, readOfflineSources } from "../packages/ktsw/src/validate/offline-sources.ts";

export interface FlateTree {
  /** The scratch copy of the repository, kubernetes/ only (flate's --path: Flux paths are relative to it). */
  path: string;
  /** A cache folder for flate (--cache-dir). */
  cacheDir: string;
  close: () => Promise<void>;
}

/** Serves a folder read-only over HTTP on a free loopback port. */
async function serveFolder(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const file = normalize(join(dir, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200);
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/**
 * A Git repository holding an offline copy, tagged like upstream. The copy sits one folder deeper
 * (`upstream/<path>`): flate takes a Kustomization whose spec.path is `./kubernetes`, even from
 * another source, as the owner of this repository's whole kubernetes/ folder, root Kustomization
 * included, and blocks everything on that cycle. The same manifests under another path dodge it.
 */
const COPY_FOLDER = "upstream";

function localGitRepository(root: string, copy: { dir: string; path: string; tag: string }): string {
  const repo = mkdtempSync(join(root, "git-"));
  cpSync(copy.dir, join(repo, COPY_FOLDER, copy.path), { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@localhost", ...args], {
      cwd: repo,
      stdio: "pipe",
    });
  git("init", "-q");
  git("add", "-A");
  git("commit", "-qm", "offline copy");
  git("tag", copy.tag);
  return `file://${repo}`;
}

/** Rewrites the files whose documents `edit` changes (it returns true when it changed a spec). */
function editSpecs(files: readonly string[], edit: (kind: string, spec: Record<string, unknown>) => boolean): void {
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS() as Record<string, unknown> | null);
    let changed = false;
    for (const doc of docs) {
      const spec = doc?.spec;
      if (typeof spec === "object" && spec !== null && edit(String(doc?.kind), spec as Record<string, unknown>))
        changed = true;
    }
    if (changed) writeFileSync(file, docs.map((d) => stringify(d)).join("---\n"));
  }
}

export async function prepareFlateTree(repo: string, chartsDir: string, manifestsDir?: string): Promise<FlateTree> {
  const root = mkdtempSync(join(tmpdir(), "ktsw-bench-flate-"));
  const { server, url } = await serveFolder(chartsDir);
  const copies = manifestsDir ? readOfflineSources(manifestsDir) : [];
  const tree = join(root, "tree");
  cpSync(join(repo, "kubernetes"), join(tree, "kubernetes"), { recursive: true });
  const files = readdirSync(join(tree, "kubernetes"), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath ?? e.path, e.name));
  const moved = new Set<string>();
  editSpecs(files, (kind, spec) => {
    if (kind === "HelmRepository" && spec.type !== "oci") {
      spec.url = url;
      return true;
    }
    const tag = (spec.ref as { tag?: string } | undefined)?.tag;
    const copy = copies.find((c) => c.repo === normalizeRepo(String(spec.url ?? "")) && c.tag === tag);
    if (kind !== "GitRepository" || !copy) return false;
    spec.url = localGitRepository(root, copy);
    spec.ignore = undefined; // written for upstream's layout; the local repository holds the copy only
    moved.add(copy.path);
    return true;
  });
  // The Kustomizations that read a moved copy (their path is the copy's upstream path) follow it.
  editSpecs(files, (kind, spec) => {
    const path = String(spec.path ?? "").replace(/^\.\//, "");
    if (kind !== "Kustomization" || !moved.has(path)) return false;
    spec.path = `./${COPY_FOLDER}/${path}`;
    return true;
  });
  const cacheDir = join(root, "cache");
  mkdirSync(cacheDir);
  return {
    path: tree,
    cacheDir,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
