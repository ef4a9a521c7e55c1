// The sim's local sources, for `sim up`: snapshot the tree (sources redirected) and the offline upstream copies into
// git repositories in the state folder, print each redirection, and start the server that serves them and the
// offline Helm repository as a supervised process of the sim, waited for until it answers.
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { defaultChartsDir, defaultManifestsDir } from "../../validate/index.ts";
import { readOfflineSources } from "../../validate/offline-sources.ts";
import type { Progress } from "../cluster.ts";
import type { SimLayout } from "../layout.ts";
import { checkPortFree, freePort } from "../ports.ts";
import { type Started, startDetached, stopAll, waitReady } from "../processes.ts";
import { describeRedirections, type LocalSources } from "./redirect.ts";
import { CHARTS_PREFIX, ChartsMissing, GIT_PREFIX, requireHelmRepository } from "./server.ts";
import { snapshotTree, TREE_REPO, type TreeSnapshot, upstreamRepoPath, writeUpstreamRepos } from "./snapshot.ts";

export const SOURCES_PROCESS = "sources";

/** The local URLs of a sources server at `baseUrl`, with the offline upstream copies beside the repository. */
export function localSources(baseUrl: string, repoRoot: string): LocalSources {
  const manifests = defaultManifestsDir(repoRoot);
  return {
    helmUrl: `${baseUrl}${CHARTS_PREFIX}`,
    treeGitUrl: `${baseUrl}${GIT_PREFIX}/${TREE_REPO}`,
    upstreamCopies: manifests ? readOfflineSources(manifests) : [],
    upstreamGitUrl: (repo) => `${baseUrl}${GIT_PREFIX}/${upstreamRepoPath(repo)}`,
  };
}

export interface RefreshOptions {
  repoRoot: string;
  layout: Pick<SimLayout, "gitRepos">;
  /** The running server's base URL (SimSources.baseUrl). */
  baseUrl: string;
}

/** A new snapshot of the working tree (a new commit when it changed), and any upstream copy it newly uses. */
export async function refreshSimSources(o: RefreshOptions): Promise<TreeSnapshot> {
  const snapshot = await snapshotTree({
    repoRoot: o.repoRoot,
    gitRepos: o.layout.gitRepos,
    local: localSources(o.baseUrl, o.repoRoot),
  });
  await writeUpstreamRepos(o.layout.gitRepos, snapshot.upstreamUsed);
  return snapshot;
}

export interface SimSourcesOptions {
  repoRoot: string;
  layout: Pick<SimLayout, "gitRepos" | "logs">;
  progress: Progress;
  /** A fixed port instead of a free one. */
  port?: number;
  /** The offline Helm repository (default: the one `validate` uses, ../shared/charts beside the repository). */
  chartsDir?: string;
  timeoutMs?: number;
  /** Called as soon as the server process exists, before it is waited for: `up` records it at once, so Ctrl-C
   *  during the wait stops it too. */
  onStart?: (p: Started) => void | Promise<void>;
}

export interface SimSources {
  baseUrl: string;
  helmUrl: string;
  treeGitUrl: string;
  /** The URL of a served repository by its path under the git folder (`tree.git`). */
  gitUrl: (repo: string) => string;
  snapshot: TreeSnapshot;
  process: Started;
}

/** The program that runs the CLI (tsx, TypeScript as it is), for the detached server process and the DR drill. */
export function cliCommand(): { bin: string; args: string[] } {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  return { bin: process.execPath, args: ["--import", tsx, fileURLToPath(new URL("../../cli.ts", import.meta.url))] };
}

export async function startSimSources(o: SimSourcesOptions): Promise<SimSources> {
  const charts = defaultChartsDir(o.repoRoot, o.chartsDir);
  if (!charts)
    throw new ChartsMissing(
      "no offline Helm repository: the sim serves charts from ../shared/charts (index.yaml + .tgz) beside the repository",
    );
  requireHelmRepository(charts);
  const port = o.port !== undefined ? await checkPortFree(o.port, "the sim's sources server") : await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const snapshot = await refreshSimSources({ repoRoot: o.repoRoot, layout: o.layout, baseUrl });
  for (const line of describeRedirections(snapshot)) o.progress(line);
  const cli = cliCommand();
  const args = ["sim", "serve-sources", "--port", String(port), "--git", o.layout.gitRepos, "--charts", charts];
  const p = startDetached(SOURCES_PROCESS, cli.bin, [...cli.args, ...args], o.layout.logs);
  try {
    await o.onStart?.(p);
    const t0 = Date.now();
    await waitReady(
      p,
      "the sources server to answer",
      async () => (await fetch(`${baseUrl}/healthz`)).ok,
      o.timeoutMs ?? 30_000,
    );
    o.progress(`sources served at ${baseUrl} in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${p.pid})`);
  } catch (err) {
    await stopAll([p]);
    throw err;
  }
  const { helmUrl, treeGitUrl } = localSources(baseUrl, o.repoRoot);
  return {
    baseUrl,
    helmUrl,
    treeGitUrl,
    gitUrl: (repo) => `${baseUrl}${GIT_PREFIX}/${repo}`,
    snapshot,
    process: p,
  };
}
