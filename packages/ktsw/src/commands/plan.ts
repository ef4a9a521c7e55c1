import type { Command } from "commander";
import { type LoadResult, loadConfig } from "../config/load.ts";
import { renderPlan } from "../render/plan.ts";
import { exitCodes, type GlobalOptions, printFindings } from "./shared.ts";

/** `loaded` lets `ktsw check` parse ktsw.yaml once for all its steps. */
export async function runPlan(opts: GlobalOptions, loaded?: LoadResult): Promise<number> {
  const { config, findings } = loaded ?? (await loadConfig(opts.config));
  if (!config) {
    printFindings(findings);
    return exitCodes.findings;
  }
  process.stdout.write(renderPlan(config));
  return exitCodes.ok;
}

export function registerPlan(program: Command): void {
  program
    .command("plan")
    .description("print the site as Markdown: VLAN/IP plan, VMs per Proxmox host, BGP sessions, VIP pool, topology")
    .action(async () => {
      process.exitCode = await runPlan(program.opts<GlobalOptions>());
    });
}
