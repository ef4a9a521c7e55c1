// Rendered charts kept on disk by what determines them: the chart package's bytes, the helm
// binary, and every input of the render (release, namespace, versions, CRD policy, values,
// post-renderers, metadata). A second validate of an unchanged tree renders nothing again.

import { cacheKey, fileDigest, programDigest } from "../disk-cache.ts";

/** Bumped when what is cached (or how it is made) changes meaning. */
const FORMAT = 3;

/** `programs`: helm and kustomize (post-renderers), whose versions shape the output too. */
export function renderKey(programs: readonly string[], chartFile: string, inputs: unknown): string {
  return `${cacheKey([FORMAT, ...programs.map(programDigest), fileDigest(chartFile), inputs])}.json`;
}
