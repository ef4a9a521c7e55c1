import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import type { CapacityPlan } from "../capacity/index.ts";
import { capacitySection } from "../capacity/markdown.ts";
import { capacitySite } from "../capacity/nodes.ts";
import { type LoadResult, loadConfig } from "../config/load.ts";
import { renderPlan } from "../render/plan.ts";
import { buildAppliedTree, capacityPlan } from "../validate/index.ts";
import { exitCodes, type GlobalOptions, printFindings, repoRoot } from "./shared.ts";
import { defaultValidateOptions, treeSources, type ValidateOptions, withBuildOptions } from "./validate.ts";

export type PlanOptions = Pick<ValidateOptions, "tree" | "schemas" | "k8sSchemas" | "charts">;

/**
 * The site, then its capacity: the tree built as validate builds it (charts rendered) and its pods
 * placed on the nodes. `loaded` and `capacity` let `ktsw check` reuse what its validate step read.
 */
export async function runPlan(
  opts: GlobalOptions,
  popts: PlanOptions = defaultValidateOptions,
  loaded?: LoadResult,
  capacity?: CapacityPlan,
): Promise<number> {
  const { config, findings } = loaded ?? (await loadConfig(opts.config));
  if (!config) {
    printFindings(findings);
    return exitCodes.findings;
  }
  process.stdout.write(renderPlan(config));
  if (capacity) {
    process.stdout.write(`\n${capacitySection(capacity)}`);
    return exitCodes.ok;
  }
  const root = repoRoot(opts.config);
  if (!existsSync(join(root, popts.tree))) {
    process.stdout.write(`\n## Capacity\n\nNo GitOps tree at ./${popts.tree}: nothing to place yet.\n`);
    return exitCodes.ok;
  }
  try {
    const built = await buildAppliedTree(treeSources(root, config, popts));
    process.stdout.write(`\n${capacitySection(capacityPlan(built, capacitySite(config)))}`);
  } catch (err) {
    process.stderr.write(`ktsw plan: capacity: ${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodes.prerequisite;
  }
  return exitCodes.ok;
}

export function registerPlan(program: Command): void {
  withBuildOptions(
    program
      .command("plan")
      .description(
        "print the site as Markdown: VLAN/IP plan, VMs per Proxmox host, BGP sessions, VIP pool, topology, and the capacity plan (pods per node and layer)",
      ),
  ).action(async (popts: PlanOptions) => {
    process.exitCode = await runPlan(program.opts<GlobalOptions>(), popts);
  });
}
