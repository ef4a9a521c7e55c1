// Rendered charts kept on disk by what determines them: the chart package's bytes, the helm
// binary, and every input of the render (release, namespace, versions, CRD policy, values,
// post-renderers, metadata). A second validate of an unchanged tree renders nothing again.

import { cacheKey, fileDigest, readCached, writeCached } from "../disk-cache.ts";
import type { Obj } from "../flux.ts";

/** Bumped when what is cached (or how it is made) changes meaning. */
const FORMAT = 1;

/** `programs`: helm and kustomize (post-renderers), whose versions shape the output too. */
export function renderKey(programs: readonly string[], chartFile: string, inputs: unknown): string {
  return `${cacheKey([FORMAT, ...programs.map(fileDigest), fileDigest(chartFile), inputs])}.json`;
}

export async function cachedRender(
  dir: string | undefined,
  key: string,
  render: () => Promise<{ objects: Obj[]; error?: string }>,
): Promise<{ objects: Obj[]; error?: string }> {
  const cached = readCached(dir, key);
  if (cached !== undefined) return { objects: JSON.parse(cached) as Obj[] };
  const out = await render();
  if (!out.error) writeCached(dir, key, JSON.stringify(out.objects));
  return out;
}
