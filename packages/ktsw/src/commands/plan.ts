import type { Command } from "commander";
import { loadConfig } from "../config/load.ts";
import { renderPlan } from "../render/plan.ts";
import { exitCodes, type GlobalOptions, printFindings } from "./shared.ts";

export async function runPlan(opts: GlobalOptions): Promise<number> {
  const { config, findings } = await loadConfig(opts.config);
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
