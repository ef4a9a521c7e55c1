import type { Command } from "commander";
import { loadConfig } from "../config/load.ts";
import { exitCodes, type GlobalOptions, printFindings, summary } from "./shared.ts";

export async function runValidate(opts: GlobalOptions): Promise<number> {
  const { config, findings } = await loadConfig(opts.config);
  printFindings(findings);
  summary(config !== undefined, `${opts.config}: ${findings.length} problem${findings.length === 1 ? "" : "s"}`);
  return config ? exitCodes.ok : exitCodes.findings;
}

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("validate ktsw.yaml (schema and cross-field rules); every problem as file:line:col path: message")
    .action(async () => {
      process.exitCode = await runValidate(program.opts<GlobalOptions>());
    });
}
