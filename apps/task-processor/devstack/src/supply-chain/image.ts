import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "@ktsw/cli/run";
import { requireTool } from "@ktsw/cli/tools";
import { type LayerFile, tarLayer } from "./layer.ts";

// Images built and moved with go-containerregistry's crane (deps/go-tools.txt): no container engine, no daemon.

/** Runs crane and returns its stdout, or throws with its stderr naming the command. */
async function crane(args: string[]): Promise<string> {
  const res = await run(requireTool("crane"), args);
  if (res.code !== 0) throw new Error(`crane ${args.join(" ")} failed (exit ${res.code}): ${res.stderr.trim()}`);
  return res.stdout.trim();
}

/**
 * Pushes a one-layer image of `files` (on no base: an empty image) to `ref` (a tag) and returns its digest
 * (`sha256:…`). The tarball goes through `dir`, which the caller owns.
 */
export async function pushImage(ref: string, files: readonly LayerFile[], dir: string): Promise<string> {
  const tarball = join(dir, `layer-${Date.now()}-${Math.random().toString(36).slice(2)}.tar`);
  await writeFile(tarball, tarLayer(files));
  await crane(["append", "--new_layer", tarball, "--new_tag", ref]);
  return digestOf(ref);
}

/** The digest a reference resolves to now (a tag can move; a digest cannot). */
export function digestOf(ref: string): Promise<string> {
  return crane(["digest", ref]);
}

/** Copies whatever `from` points to (an image, a signature) to the tag `to`, as a registry user with push rights can. */
export async function copy(from: string, to: string): Promise<void> {
  await crane(["copy", from, to]);
}

/** The tag under which cosign (its default, pre-bundle format) stores the signatures of `digest`. */
export function signatureTag(repository: string, digest: string): string {
  return `${repository}:${digest.replace(":", "-")}.sig`;
}
