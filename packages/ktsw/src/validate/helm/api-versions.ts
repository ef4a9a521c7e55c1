// The API versions a cluster would advertise once the tree is applied: every version each CRD of
// the tree (plain or rendered from a chart) serves, as `group/version` and `group/version/Kind`, the
// two forms charts test with `.Capabilities.APIVersions.Has`. Helm adds the built-in ones itself.

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { cacheKey, fileDigest, readCached, writeCached } from "../disk-cache.ts";
import { arr, get, groupOf, type Obj, str } from "../flux.ts";

export function isCrd(o: Obj): boolean {
  return o.kind === "CustomResourceDefinition" && groupOf(o) === "apiextensions.k8s.io";
}

export function crdApiVersions(objects: readonly Obj[]): string[] {
  const out = new Set<string>();
  for (const o of objects.filter(isCrd)) {
    const group = str(o, "spec", "group");
    const kind = str(o, "spec", "names", "kind");
    for (const v of arr(o, "spec", "versions")) {
      const version = str(v, "name");
      if (!group || !kind || !version || get(v, "served") === false) continue;
      out.add(`${group}/${version}`);
      out.add(`${group}/${version}/${kind}`);
    }
  }
  return [...out].sort();
}

/**
 * Whether a packaged chart's templates may ask for API versions (then its output depends on them).
 * A subchart packaged inside (charts/*.tgz) is compressed twice and cannot be read here: it counts
 * as asking.
 */
export function chartReadsApiVersions(chartFile: string): boolean {
  const tar = gunzipSync(readFileSync(chartFile));
  return tar.includes("APIVersions") || tar.includes(".tgz\0");
}

/** Bumped when chartReadsApiVersions answers differently for the same archive. */
const READS_FORMAT = 1;

/** chartReadsApiVersions, kept under the archive's digest: answering unpacks the whole archive. */
export function keptChartReadsApiVersions(chartFile: string, cacheDir: string | undefined): boolean {
  const key = `reads-apis-${cacheKey([READS_FORMAT, fileDigest(chartFile)])}.json`;
  const kept = readCached(cacheDir, key);
  if (kept !== undefined) return JSON.parse(kept) === true;
  const reads = chartReadsApiVersions(chartFile);
  writeCached(cacheDir, key, JSON.stringify(reads));
  return reads;
}
