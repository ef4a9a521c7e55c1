import { join, relative } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import { capacitySite } from "../capacity/nodes.ts";
import { type LoadResult, loadConfig } from "../config/load.ts";
import type { KtswConfig } from "../config/schema.ts";
import { type Finding, hasErrors, sortFindings } from "../diagnostics.ts";
import { checkRepositorySops } from "../secrets/repository.ts";
import { ensureBuiltinSchemas } from "../validate/builtin-schemas.ts";
import {
  defaultChartsDir,
  defaultSchemaSources,
  PUBLIC_CRD_CATALOG,
  type TreeReport,
  type TreeSources,
  validateTree,
} from "../validate/index.ts";
import { exitCodes, type GlobalOptions, printFindings, repoRoot, summary } from "./shared.ts";

export interface ValidateOptions {
  format: "text" | "json";
  schemas?: string;
  k8sSchemas?: string;
  tree: string;
  policies: boolean;
  /** The chart cache folder (a Helm repository: index.yaml + .tgz). */
  charts?: string;
}

/** The test-report view: one line per Flux Kustomization, then every finding. */
export function printTreeReport(report: TreeReport, seconds: number): void {
  // Already in the order Flux reaches them (after their parent and their dependsOn).
  for (const k of report.kustomizations) {
    const ok = k.errors === 0;
    const tally = `${k.objects} object${k.objects === 1 ? "" : "s"}${k.errors ? `, ${k.errors} error${k.errors === 1 ? "" : "s"}` : ""}${k.warnings ? `, ${k.warnings} warning${k.warnings === 1 ? "" : "s"}` : ""}`;
    const counts = !k.external
      ? tally
      : k.offline
        ? `${tally}, from ${k.external} at its offline copy ${k.offline}`
        : `from ${k.external}: not in this repository, not built offline`;
    process.stdout.write(
      `${"  ".repeat(k.depth ?? 0)}${ok ? pc.green("✓") : pc.red("✗")} ${k.namespace}/${k.name}  ${pc.dim(`./${k.path}`)}  (${counts})\n`,
    );
  }
  for (const note of report.notes) process.stdout.write(`${pc.dim(`· ${note}`)}\n`);
  printFindings(report.findings);
  const errors = report.findings.filter((f) => f.severity === "error").length;
  summary(
    errors === 0,
    `tree: ${report.kustomizations.length} Flux Kustomizations, ${errors} error${errors === 1 ? "" : "s"} (${seconds.toFixed(2)} s)`,
  );
}

/** The repository's SOPS set-up, checked exactly as `ktsw secrets check` does. */
async function sopsFindings(root: string, recipients: readonly string[]): Promise<Finding[]> {
  const { findings } = await checkRepositorySops(root, recipients, join(root, ".cache", "ktsw", "sops-checks"));
  // Plaintext values are already reported by the tree's secrets check, at the same place.
  return findings.filter((f) => f.rule !== "secrets.sops");
}

export const defaultValidateOptions: ValidateOptions = { format: "text", tree: "kubernetes", policies: true };

/**
 * `loaded` lets `ktsw check` parse ktsw.yaml once for all its steps; `onReport` hands it the tree's
 * report (with its capacity plan), so its plan step need not build the tree again.
 */
export async function runValidate(
  opts: GlobalOptions,
  vopts: ValidateOptions = defaultValidateOptions,
  loaded?: LoadResult,
  onReport: (report: TreeReport) => void = () => {},
): Promise<number> {
  const started = performance.now();
  const { config, findings } = loaded ?? (await loadConfig(opts.config));
  if (!config) {
    if (vopts.format === "json")
      process.stdout.write(
        `${JSON.stringify({ ok: false, findings: sortFindings(findings), kustomizations: [] }, null, 2)}\n`,
      );
    else {
      printFindings(findings);
      summary(false, `${opts.config}: ${findings.length} problem${findings.length === 1 ? "" : "s"}`);
    }
    return exitCodes.findings;
  }
  const root = repoRoot(opts.config);
  let report: TreeReport;
  try {
    report = await validateTree({
      ...treeSources(root, config, vopts),
      gitops: config.gitops,
      policies: vopts.policies,
      capacity: capacitySite(config),
    });
  } catch (err) {
    process.stderr.write(`ktsw validate: ${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodes.prerequisite;
  }
  report.findings = sortFindings([
    ...findings,
    ...report.findings,
    ...(await sopsFindings(root, config.secrets.ageRecipients)),
  ]);
  onReport(report);
  const seconds = (performance.now() - started) / 1000;
  if (vopts.format === "json") {
    const { capacity: _plan, ...json } = report;
    process.stdout.write(`${JSON.stringify({ ok: !hasErrors(report.findings), seconds, ...json }, null, 2)}\n`);
  } else {
    summary(true, `${relative(process.cwd(), opts.config) || opts.config}: valid`);
    printTreeReport(report, seconds);
  }
  return hasErrors(report.findings) ? exitCodes.findings : exitCodes.ok;
}

/** `--charts` as every verb that renders the tree reads it: the folder given, else the offline cache. */
export function chartsOption(root: string, charts?: string): { chartsDir?: string } {
  const dir = defaultChartsDir(root, charts);
  return dir ? { chartsDir: dir } : {};
}

/** The tree the options point at, as `buildAppliedTree` takes it; the built-in schemas fetched once. */
export function treeSources(
  root: string,
  config: KtswConfig,
  vopts: Pick<ValidateOptions, "tree" | "schemas" | "k8sSchemas" | "charts">,
): TreeSources {
  const crds = vopts.schemas === "public" ? PUBLIC_CRD_CATALOG : vopts.schemas;
  const schemas = defaultSchemaSources(root, crds, vopts.k8sSchemas, config.kubernetes.k3sVersion);
  ensureBuiltinSchemas(schemas.builtinDir, config.kubernetes.k3sVersion);
  return {
    root,
    treeDir: vopts.tree,
    clusterPath: config.gitops.path,
    k8sVersion: config.kubernetes.k3sVersion,
    schemas,
    ...chartsOption(root, vopts.charts),
  };
}

/** How the tree is found and its charts rendered: the options every verb that builds the tree takes (plan, diff too). */
export function withBuildOptions(command: Command): Command {
  return command
    .option("--k8s-schemas <dir>", "built-in Kubernetes schemas (default: fetched once with pip into .cache/ktsw)")
    .option("--tree <dir>", "the GitOps tree, relative to the repository", "kubernetes")
    .option(
      "--charts <dir>",
      "chart cache the HelmReleases render from: a Helm repository folder (index.yaml + .tgz) (default: ../shared/charts beside the repository if present)",
    );
}

/** The tree options `validate` and `check` share, declared once so both verbs read them the same way. */
export function withTreeOptions(command: Command): Command {
  return withBuildOptions(
    command.option(
      "--schemas <dir-or-url>",
      "CRD schema catalog: a folder, a URL (cached under .cache/ktsw), or 'public' (default: ../shared/schemas/crds beside the repository if present, else the public catalog)",
    ),
  ).option("--no-policies", "skip the Gatekeeper policy check");
}

export function registerValidate(program: Command): void {
  withTreeOptions(
    program
      .command("validate")
      .description(
        "validate ktsw.yaml, then the whole GitOps tree offline: YAML, Flux substitution, HelmRelease charts rendered, JSON schemas, Flux graph, pins, SOPS, policies; every problem as file:line:col path: message",
      )
      .option("--format <format>", "text or json", "text"),
  ).action(async (vopts: ValidateOptions) => {
    if (vopts.format !== "text" && vopts.format !== "json") {
      process.stderr.write(`ktsw validate: --format must be text or json\n`);
      process.exitCode = exitCodes.usage;
      return;
    }
    process.exitCode = await runValidate(program.opts<GlobalOptions>(), vopts);
  });
}
