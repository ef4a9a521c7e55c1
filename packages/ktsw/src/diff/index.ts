// `ktsw diff <ref>`: the site at a git ref against the working tree. Each side goes through the same
// pure functions `render` and `validate` use (renderAll, buildAppliedTree); the ref's side is read
// from a temp checkout, removed afterwards (also on Ctrl-C). Both sides share one chart render
// cache, so charts whose inputs did not change are rendered once, or not at all when warm.
import { existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { loadConfig } from "../config/load.ts";
import type { Finding } from "../diagnostics.ts";
import { renderAll } from "../render/index.ts";
import { buildAppliedTree, defaultChartsDir, defaultManifestsDir, defaultSchemaSources } from "../validate/index.ts";
import { compareSites, type SiteDiff } from "./compare.ts";
import { BadRef, checkoutCommit, repositoryTop, resolveCommit } from "./git-ref.ts";
import { BUILD_FAILURES, failedProducers, type Site, siteObjects } from "./site.ts";

export interface SiteDiffOptions {
  /** The working tree's ktsw.yaml. */
  config: string;
  ref: string;
  /** The GitOps tree, relative to the folder of ktsw.yaml. */
  treeDir: string;
  /** The chart cache (default: ../shared/charts beside the repository). */
  charts?: string;
  /** Built-in Kubernetes schemas (their API list shapes what charts render). */
  k8sSchemas?: string;
}

export interface SiteDiffResult {
  commit: string;
  diff: SiteDiff;
  /** Problems that leave a side incomplete (invalid ktsw.yaml, a chart that did not render...). */
  findings: Finding[];
  /** True when a side could not be read at all (its ktsw.yaml is missing or invalid). */
  incomplete: boolean;
  notes: string[];
}

/** What makes an object missing from a side: the diff names these so an absence is not mistaken for a removal. */
const COMPLETENESS_RULES = new Set([...BUILD_FAILURES, "helm.render", "helm.chart-version", "helm.chart"]);

interface SideContext {
  /** The working tree's root: the schema and render caches live there for both sides. */
  home: string;
  treeDir: string;
  chartsDir?: string;
  /** The offline copies of upstream Git sources beside the working tree: the ref's temp checkout has none beside it. */
  manifestsDir?: string;
  k8sSchemas?: string;
}

async function readSite(
  root: string,
  configFile: string,
  ctx: SideContext,
  label: (f: Finding) => Finding,
): Promise<{ site?: Site; findings: Finding[]; note: string }> {
  const { config, findings } = await loadConfig(configFile);
  if (!config) return { findings: findings.map(label), note: "" };
  const built = await buildAppliedTree({
    root,
    treeDir: ctx.treeDir,
    clusterPath: config.gitops.path,
    k8sVersion: config.kubernetes.k3sVersion,
    schemas: defaultSchemaSources(ctx.home, undefined, ctx.k8sSchemas, config.kubernetes.k3sVersion),
    renderCacheDir: join(ctx.home, ".cache", "ktsw", "helm-renders"),
    ...(ctx.chartsDir ? { chartsDir: ctx.chartsDir } : {}),
    ...(ctx.manifestsDir ? { manifestsDir: ctx.manifestsDir } : {}),
  });
  const problems = [
    ...built.walk.findings,
    ...[...built.walk.nodes.values()].flatMap((n) => n.findings),
    ...built.helm.findings,
  ].filter((f) => f.severity === "error" && COMPLETENESS_RULES.has(f.rule));
  return {
    site: {
      artifacts: renderAll(config),
      objects: siteObjects(built.applied, built.walk.nodes, ctx.treeDir),
      failed: failedProducers(built.applied, built.walk.nodes),
    },
    findings: problems.map(label),
    note: built.helm.note,
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Runs `fn` with a temp folder that is removed afterwards, also when the process is interrupted. */
async function withTempFolder<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "ktsw-diff-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    remove();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await fn(dir);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    remove();
  }
}

export async function diffSiteAgainstRef(opts: SiteDiffOptions): Promise<SiteDiffResult> {
  const home = join(opts.config, "..");
  const top = await repositoryTop(home);
  const commit = await resolveCommit(top, opts.ref);
  // git names the top folder by its real path: so must the config be, to find it at the ref.
  const configInRepo = relative(top, existsSync(opts.config) ? realpathSync(opts.config) : opts.config);
  if (configInRepo.startsWith("..")) throw new BadRef(`${opts.config} is not inside the repository ${top}`);
  const ctx: SideContext = {
    home,
    treeDir: opts.treeDir,
    ...(opts.k8sSchemas ? { k8sSchemas: opts.k8sSchemas } : {}),
  };
  const chartsDir = defaultChartsDir(home, opts.charts);
  if (chartsDir) ctx.chartsDir = chartsDir;
  const manifestsDir = defaultManifestsDir(home);
  if (manifestsDir) ctx.manifestsDir = manifestsDir;
  // The working tree first: its charts are the likeliest to be cached already (validate rendered them).
  const started = performance.now();
  const after = await readSite(home, opts.config, ctx, (f) => f);
  const between = performance.now();
  const before = await withTempFolder(async (work) => {
    const checkout = await checkoutCommit(top, commit, work);
    const config = join(checkout, configInRepo);
    // A problem at the ref is shown the way git names a file there: `ref:path`.
    return readSite(join(config, ".."), config, ctx, (f) => ({
      ...f,
      file: `${opts.ref}:${f.file.startsWith(checkout) ? relative(checkout, f.file) : f.file}`,
    }));
  });
  return {
    commit,
    diff: before.site && after.site ? compareSites(before.site, after.site) : { layers: [], withheld: [] },
    findings: [...before.findings, ...after.findings],
    incomplete: !before.site || !after.site,
    // The working tree's chart note; what the ref's side could not render is in findings.
    notes: [
      after.note,
      `read in ${seconds(between - started)} (working tree) and ${seconds(performance.now() - between)} (${opts.ref}, its unchanged charts from the render cache)`,
    ].filter(Boolean),
  };
}
