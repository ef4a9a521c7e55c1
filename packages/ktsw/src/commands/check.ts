import type { Command } from "commander";
import { runPlan } from "./plan.ts";
import { runRender } from "./render.ts";
import { exitCodes, type GlobalOptions } from "./shared.ts";
import { runValidate } from "./validate.ts";

/** The main job: everything a pull request must pass, in the order a person would fix things. */
export async function runCheck(opts: GlobalOptions): Promise<number> {
  const validated = await runValidate(opts);
  if (validated !== exitCodes.ok) return validated;
  const rendered = await runRender({ ...opts, check: true });
  await runPlan(opts);
  return rendered;
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("validate, render --check and plan: what CI and `npm start` run")
    .action(async () => {
      process.exitCode = await runCheck(program.opts<GlobalOptions>());
    });
}
