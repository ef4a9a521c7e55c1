import type { Command } from "commander";
import type { CapacityPlan } from "../capacity/index.ts";
import { type LoadResult, loadConfig } from "../config/load.ts";
import { runPlan } from "./plan.ts";
import { runRender } from "./render.ts";
import { exitCodes, type GlobalOptions } from "./shared.ts";
import { defaultValidateOptions, runValidate, type ValidateOptions, withTreeOptions } from "./validate.ts";

export type CheckOptions = Omit<ValidateOptions, "format">;

/**
 * The main job: everything a pull request must pass, in the order a person would fix things. A broken
 * config or tree stops it before render and plan, whose output would only repeat the same problem.
 * ktsw.yaml is read once (`load` is a parameter so a test can count that) and every step sees the same parse.
 */
export async function runCheck(
  opts: GlobalOptions,
  copts: CheckOptions = defaultValidateOptions,
  load: (file: string) => Promise<LoadResult> = loadConfig,
): Promise<number> {
  const loaded = await load(opts.config);
  let capacity: CapacityPlan | undefined;
  const validated = await runValidate(opts, { ...copts, format: "text" }, loaded, (r) => {
    capacity = r.capacity;
  });
  if (validated !== exitCodes.ok) return validated;
  const rendered = await runRender({ ...opts, check: true }, loaded);
  await runPlan(opts, copts, loaded, capacity);
  return rendered;
}

export function registerCheck(program: Command): void {
  withTreeOptions(
    program.command("check").description("validate, render --check and plan: what CI and `npm start` run"),
  ).action(async (copts: CheckOptions) => {
    process.exitCode = await runCheck(program.opts<GlobalOptions>(), copts);
  });
}
