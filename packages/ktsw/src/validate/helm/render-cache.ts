// Rendered charts kept on disk by what determines them: the chart package's bytes, the helm
// binary, and every input of the render (release, namespace, versions, CRD policy, values,
// post-renderers, metadata). A second validate of an unchanged tree renders nothing again.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Obj } from "../flux.ts";

/** Bumped when what is cached (or how it is made) changes meaning. */
const FORMAT = 1;

const fileDigests = new Map<string, string>();

function fileDigest(file: string): string {
  const stat = statSync(file);
  const id = `${file}\0${stat.size}\0${stat.mtimeMs}`;
  let digest = fileDigests.get(id);
  if (!digest) {
    digest = createHash("sha256").update(readFileSync(file)).digest("hex");
    fileDigests.set(id, digest);
  }
  return digest;
}

/** `programs`: helm and kustomize (post-renderers), whose versions shape the output too. */
export function renderKey(programs: readonly string[], chartFile: string, inputs: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify([FORMAT, ...programs.map(fileDigest), fileDigest(chartFile), inputs]))
    .digest("hex");
}

export async function cachedRender(
  dir: string | undefined,
  key: string,
  render: () => Promise<{ objects: Obj[]; error?: string }>,
): Promise<{ objects: Obj[]; error?: string }> {
  const file = dir ? join(dir, `${key}.json`) : undefined;
  if (file && existsSync(file)) return { objects: JSON.parse(readFileSync(file, "utf8")) as Obj[] };
  const out = await render();
  if (file && !out.error) {
    mkdirSync(dir as string, { recursive: true });
    // Written under another name first: a reader never sees half a file.
    writeFileSync(`${file}.${process.pid}`, JSON.stringify(out.objects));
    renameSync(`${file}.${process.pid}`, file);
  }
  return out;
}
