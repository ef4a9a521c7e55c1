// The CLI as a person runs it, for tests: a real process with colour off, and a throwaway copy of
// the repository's site (ktsw.yaml, .sops.yaml, the Flux tree and every rendered file) to break.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { defaultSchemaSources } from "../../src/validate/index.ts";

export const repo = resolve(import.meta.dirname, "../../../..");
export const cli = join(repo, "packages/ktsw/src/cli.ts");
/** What `npx ktsw` runs: the launcher, which starts the CLI from its bundle (made again after an edit). */
const launcher = join(repo, "packages/ktsw/bin/ktsw.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ktsw ARGS` from the repository root; never throws, the exit code is part of the result. */
export function runKtsw(args: readonly string[]): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [launcher, ...args],
      { cwd: repo, env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * The schema catalogs of the real repository, as flags: a copy elsewhere has no offline catalog beside
 * it and must not fall back to the network in a test.
 */
export function schemaFlags(k8sVersion = "v1.33.5+k3s1"): string[] {
  const sources = defaultSchemaSources(repo, undefined, undefined, k8sVersion);
  return ["--schemas", sources.crds, ...buildFlags(k8sVersion)];
}

/** The built-in schemas only: what verbs that build the tree without checking it (plan, diff) take. */
export function buildFlags(k8sVersion = "v1.33.5+k3s1"): string[] {
  return ["--k8s-schemas", defaultSchemaSources(repo, undefined, undefined, k8sVersion).builtinDir];
}

/** What `ktsw check` reads and compares: the site file, the SOPS rules, the tree and every rendered file. */
const sitePaths = ["ktsw.yaml", ".sops.yaml", "kubernetes", "infrastructure", "packages/ktsw/schema"];

/** A fresh copy of the site in a temp folder; `remove()` deletes it (call it in `finally`). With `withShared`, the
 *  copy gets a `../shared` of its own (a link to the repository's offline data) for what reads it beside the site,
 *  as the sim's Helm repository does. */
export function siteCopy(o: { withShared?: boolean } = {}): { root: string; config: string; remove: () => void } {
  const parent = o.withShared ? mkdtempSync(join(tmpdir(), "ktsw-site-")) : undefined;
  if (parent) symlinkSync(join(repo, "..", "shared"), join(parent, "shared"));
  const root = parent ? join(parent, "site") : mkdtempSync(join(tmpdir(), "ktsw-site-"));
  for (const path of sitePaths)
    if (existsSync(join(repo, path))) cpSync(join(repo, path), join(root, path), { recursive: true });
  const remove = () => rmSync(parent ?? root, { recursive: true, force: true });
  return { root, config: join(root, "ktsw.yaml"), remove };
}
