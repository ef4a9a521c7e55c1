// Git sources that point at the internet (an upstream project's manifests at a pinned tag) resolve
// offline from a local copy, the way charts resolve from the chart cache: a folder of upstream
// bundles with a SOURCES.tsv naming each one's repository, tag and the upstream path it holds
// (CI keeps one at ../shared/manifests beside the repository). Same repository and same tag, or
// an error naming the tag wanted and the tags there.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Obj, str } from "./flux.ts";

export interface OfflineSource {
  /** `host/owner/name`, e.g. github.com/keycloak/keycloak-k8s-resources. */
  repo: string;
  tag: string;
  /** The upstream folder the copy holds (`kubernetes`), "" for the repository's root. */
  path: string;
  /** Absolute folder of the copy. */
  dir: string;
}

export const SOURCES_FILE = "SOURCES.tsv";

/** The copies SOURCES.tsv lists (columns item, version, upstream_repo, ref, commit, path, …). */
export function offlineSourcesFrom(tsv: string, manifestsDir: string): OfflineSource[] {
  const [header, ...rows] = tsv.split("\n").filter((l) => l.trim() !== "");
  const columns = (header ?? "").split("\t");
  const col = (row: string[], name: string) => row[columns.indexOf(name)]?.trim() ?? "";
  return rows.flatMap((line) => {
    const row = line.split("\t");
    const dir = join(manifestsDir, `${col(row, "item")}-${col(row, "version")}`);
    if (!existsSync(dir)) return []; // held or listed-only entries have no folder
    return [
      {
        repo: normalizeRepo(col(row, "upstream_repo")),
        tag: col(row, "ref"),
        path: col(row, "path").replace(/^\.?\/*|\/+$/g, ""),
        dir,
      },
    ];
  });
}

export function readOfflineSources(manifestsDir: string): OfflineSource[] {
  const file = join(manifestsDir, SOURCES_FILE);
  return existsSync(file) ? offlineSourcesFrom(readFileSync(file, "utf8"), manifestsDir) : [];
}

/** `https://github.com/a/b.git`, `ssh://git@github.com/a/b` and `github.com/a/b` name the same repository. */
export function normalizeRepo(url: string): string {
  return url
    .replace(/^[a-z+]+:\/\//, "")
    .replace(/^[^@/]+@/, "")
    .replace(/\/+$/, "")
    .replace(/\.git$/, "")
    .toLowerCase();
}

export type OfflineResolution = { found: true; dir: string; label: string } | { found: false; error: string };

/**
 * The local folder standing for `path` (a Flux Kustomization's spec.path) in a GitRepository's
 * checkout at its ref.tag.
 */
export function resolveOffline(git: Obj, path: string, sources: readonly OfflineSource[]): OfflineResolution {
  const url = str(git, "spec", "url") ?? "";
  const repo = normalizeRepo(url);
  const tag = str(git, "spec", "ref", "tag");
  const same = sources.filter((s) => s.repo === repo);
  if (!tag) return { found: false, error: `${url} is not pinned by ref.tag, so no offline copy can stand for it` };
  const wanted = path.replace(/^\.?\/*|\/+$/g, "");
  const copy = same.find((s) => s.tag === tag);
  if (!copy) {
    const have = same.length ? `tags there: ${same.map((s) => s.tag).join(", ")}` : "no copy of that repository";
    return { found: false, error: `${url} at tag ${tag} is not in the offline copies (${have})` };
  }
  const inside = copy.path === "" || wanted === copy.path || wanted.startsWith(`${copy.path}/`);
  if (!inside)
    return { found: false, error: `the offline copy of ${url} ${tag} holds ${copy.path}/ only, not ${wanted}` };
  const rest = copy.path === "" ? wanted : wanted.slice(copy.path.length).replace(/^\//, "");
  return { found: true, dir: join(copy.dir, rest), label: `${repo.split("/").pop()} ${tag}` };
}
