// The local chart cache: an ordinary Helm repository on disk (index.yaml + one .tgz per chart
// version, URLs relative to the folder). Offline (CI, the tests) it is ../shared/charts beside the
// repository; online it is filled from each HelmRepository at the pinned version. A HelmRelease's
// chart resolves here by exact name and version, or fails naming the versions the cache holds.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { cacheKey, readCached, writeCached } from "../disk-cache.ts";

export interface CachedChart {
  name: string;
  version: string;
  /** Absolute path of the packaged chart. */
  file: string;
}

/** name -> versions, as the repository's index.yaml lists them. */
export type ChartIndex = ReadonlyMap<string, readonly CachedChart[]>;

export type ChartResolution = { found: true; chart: CachedChart } | { found: false; available: string[] };

/**
 * Reads index.yaml of a Helm repository folder; an empty index when the folder has none. With
 * `keptIn`, its parse is kept there under a digest of its text (a YAML parse of every chart's
 * entry costs more than the rest of a warm chart phase).
 */
export function readChartIndex(dir: string, keptIn?: string): ChartIndex {
  const file = join(dir, "index.yaml");
  if (!existsSync(file)) return new Map();
  const text = readFileSync(file, "utf8");
  const key = `index-${cacheKey(text)}.json`;
  const kept = readCached(keptIn, key);
  if (kept !== undefined) return chartIndexFrom(JSON.parse(kept) as unknown, dir);
  const index = parse(text) as unknown;
  const json = JSON.stringify(index);
  // Only what JSON gives back unchanged is kept.
  if (isDeepStrictEqual(JSON.parse(json), index)) writeCached(keptIn, key, json);
  return chartIndexFrom(index, dir);
}

/** The parsed index.yaml as name -> versions (files resolved against the repository folder). */
export function chartIndexFrom(index: unknown, dir: string): ChartIndex {
  const entries = ((index as { entries?: unknown } | null)?.entries ?? {}) as Record<string, unknown>;
  const out = new Map<string, CachedChart[]>();
  for (const [name, versions] of Object.entries(entries)) {
    const list = (Array.isArray(versions) ? versions : []).flatMap((v) => {
      const version = String((v as { version?: unknown }).version ?? "");
      const url = ((v as { urls?: unknown }).urls as unknown[] | undefined)?.[0];
      // Only local packages count: a URL to elsewhere cannot be read offline.
      if (!version || typeof url !== "string" || /^[a-z]+:\/\//.test(url)) return [];
      return [{ name, version, file: join(dir, url) }];
    });
    out.set(name, list);
  }
  return out;
}

/**
 * The exact pin, the way Flux fetches it: Helm repository versions are semver, so "v1.2.3" and
 * "1.2.3" name the same chart (cert-manager publishes with the `v`).
 */
export function resolveChart(index: ChartIndex, name: string, version: string): ChartResolution {
  const versions = index.get(name) ?? [];
  const bare = (v: string) => v.replace(/^v/, "");
  const chart = versions.find((c) => c.version === version) ?? versions.find((c) => bare(c.version) === bare(version));
  if (chart) return { found: true, chart };
  return { found: false, available: versions.map((c) => c.version) };
}
