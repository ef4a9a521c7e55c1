// Runs `kustomize build` on a folder, like kustomize-controller does before it applies anything.
// Builds are independent processes, so the tree's folders build in parallel (bounded: 2 cores).
import { execFile } from "node:child_process";
import { cpus } from "node:os";
import { parseAllDocuments } from "yaml";
import { findTool, installHint } from "./tools.ts";

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
  throw new Error(installHint("kustomize"));
}

function run(
  cmd: { bin: string; args: string[] },
  dir: string,
): Promise<{ stdout: string; stderr: string; failed: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd.bin, [...cmd.args, dir], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, failed: err !== null });
    });
  });
}

export async function kustomizeBuild(cmd: { bin: string; args: string[] }, dir: string): Promise<BuildResult> {
  const { stdout, stderr, failed } = await run(cmd, dir);
  if (failed)
    return { dir, objects: [], error: (stderr.trim().split("\n").pop() ?? "build failed").replace(/^Error: /, "") };
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS() as unknown)
    .filter((o): o is Record<string, unknown> => typeof o === "object" && o !== null);
  return { dir, objects };
}

/** Builds every folder, at most `limit` at once; results in input order. */
export async function kustomizeBuildAll(dirs: readonly string[], limit = Math.max(4, cpus().length * 2)) {
  const cmd = kustomizeCommand();
  const results: BuildResult[] = new Array(dirs.length);
  let next = 0;
  const worker = async () => {
    while (next < dirs.length) {
      const i = next++;
      results[i] = await kustomizeBuild(cmd, dirs[i] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, dirs.length) }, worker));
  return results;
}
