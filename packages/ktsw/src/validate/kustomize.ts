// Runs `kustomize build` on a folder, like kustomize-controller does before it applies anything.
// Builds are independent processes, so the tree's folders build in parallel (bounded: 2 cores).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { findTool, MissingTool } from "../tools/find.ts";
import { cachedObjects, cacheKey, programDigest } from "./disk-cache.ts";
import { generateKustomization, hasKustomization } from "./generated-kustomization.ts";

/**
 * What a Flux Kustomization adds to the folder's own kustomization.yaml before building
 * (kustomize-controller merges these fields in): targetNamespace, name prefix/suffix, patches,
 * images, components.
 */
export interface FluxBuildOptions {
  namespace?: string;
  namePrefix?: string;
  nameSuffix?: string;
  patches?: unknown[];
  images?: unknown[];
  components?: string[];
}

export function fluxBuildOptions(ks: Record<string, unknown>): FluxBuildOptions | undefined {
  const spec = (ks.spec ?? {}) as Record<string, unknown>;
  const opts: FluxBuildOptions = {};
  if (typeof spec.targetNamespace === "string") opts.namespace = spec.targetNamespace;
  if (typeof spec.namePrefix === "string") opts.namePrefix = spec.namePrefix;
  if (typeof spec.nameSuffix === "string") opts.nameSuffix = spec.nameSuffix;
  if (Array.isArray(spec.patches) && spec.patches.length) opts.patches = spec.patches;
  if (Array.isArray(spec.images) && spec.images.length) opts.images = spec.images;
  if (Array.isArray(spec.components) && spec.components.length) opts.components = spec.components.map(String);
  return Object.keys(opts).length ? opts : undefined;
}

/** Stable key for a build: the same folder with different Flux options builds differently. */
export function buildKey(dir: string, opts?: FluxBuildOptions): string {
  return opts ? `${dir}\u0000${JSON.stringify(opts)}` : dir;
}

export interface BuildResult {
  dir: string;
  objects: Record<string, unknown>[];
  error?: string;
}

/** The build command: pinned kustomize, else `kubectl kustomize` (same engine, kubectl's version). */
export function kustomizeCommand(): { bin: string; args: string[] } {
  const kustomize = findTool("kustomize");
  if (kustomize) return { bin: kustomize, args: ["build"] };
  const kubectl = findTool("kubectl");
  if (kubectl) return { bin: kubectl, args: ["kustomize"] };
  throw new MissingTool("kustomize");
}

function run(
  cmd: { bin: string; args: string[] },
  dir: string,
  extra: readonly string[] = [],
): Promise<{ stdout: string; stderr: string; failed: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd.bin, [...cmd.args, ...extra, dir], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, failed: err !== null });
    });
  });
}

export async function kustomizeBuild(
  cmd: { bin: string; args: string[] },
  dir: string,
  opts?: FluxBuildOptions,
): Promise<BuildResult> {
  if (opts) {
    // An overlay with the Flux fields over the folder: same result as merging them into it. A folder
    // without kustomization.yaml gets Flux's generated one first, as kustomize-controller does.
    const overlay = mkdtempSync(join(tmpdir(), "ktsw-flux-"));
    const generated = hasKustomization(dir) ? undefined : generateKustomization(dir);
    try {
      const doc = {
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: [relative(overlay, generated ?? dir)],
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
        ...(opts.namePrefix ? { namePrefix: opts.namePrefix } : {}),
        ...(opts.nameSuffix ? { nameSuffix: opts.nameSuffix } : {}),
        ...(opts.patches ? { patches: opts.patches } : {}),
        ...(opts.images ? { images: opts.images } : {}),
        ...(opts.components ? { components: opts.components.map((c) => relative(overlay, join(dir, c))) } : {}),
      };
      writeFileSync(join(overlay, "kustomization.yaml"), stringify(doc));
      return { ...(await kustomizeBuild(cmd, overlay)), dir };
    } finally {
      rmSync(overlay, { recursive: true, force: true });
      if (generated) rmSync(generated, { recursive: true, force: true });
    }
  }
  if (!hasKustomization(dir)) {
    // Flux generates the kustomization.yaml; its resources live outside the scratch folder.
    const scratch = generateKustomization(dir);
    try {
      return { ...(await kustomizeBuild(cmd, scratch)), dir };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const { stdout, stderr, failed } = await run(cmd, dir, ["--load-restrictor", "LoadRestrictionsNone"]);
  if (failed)
    return { dir, objects: [], error: (stderr.trim().split("\n").pop() ?? "build failed").replace(/^Error: /, "") };
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS() as unknown)
    .filter((o): o is Record<string, unknown> => typeof o === "object" && o !== null);
  return { dir, objects };
}

/**
 * Builds kept on disk between runs: a build is a pure function of the kustomize binary, the Flux
 * fields and the files of its source, so an unchanged tree builds nothing again.
 */
export interface BuildCache {
  dir: string;
  /** Digest of every file the build of `dir` may read (see source-digest.ts); undefined: do not cache. */
  sourceDigestOf: (dir: string) => string | undefined;
}

/** Bumped when what is cached (or how it is made) changes meaning. */
const FORMAT = 1;

async function cachedBuild(
  cmd: { bin: string; args: string[] },
  dir: string,
  opts: FluxBuildOptions | undefined,
  cache: BuildCache | undefined,
): Promise<BuildResult> {
  const source = cache?.sourceDigestOf(dir);
  if (!cache || !source) return kustomizeBuild(cmd, dir, opts);
  const key = `${cacheKey([FORMAT, programDigest(cmd.bin), cmd.args, dir, opts ?? null, source])}.json`;
  const out = await cachedObjects(cache.dir, key, () => kustomizeBuild(cmd, dir, opts));
  return { ...out, dir };
}

/** Builds every folder, at most `limit` at once; results in input order. */
export async function kustomizeBuildAll(
  dirs: readonly (string | { dir: string; opts?: FluxBuildOptions })[],
  cache?: BuildCache,
  limit = Math.max(4, cpus().length * 2),
) {
  const cmd = kustomizeCommand();
  const results: BuildResult[] = new Array(dirs.length);
  let next = 0;
  const worker = async () => {
    while (next < dirs.length) {
      const i = next++;
      const job = dirs[i] as string | { dir: string; opts?: FluxBuildOptions };
      results[i] =
        typeof job === "string"
          ? await cachedBuild(cmd, job, undefined, cache)
          : await cachedBuild(cmd, job.dir, job.opts, cache);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, dirs.length) }, worker));
  return results;
}
