// `ktsw`: validate, render and explain a homelab described by one ktsw.yaml.
import { Command, CommanderError } from "commander";
import { registerBootstrap } from "./commands/bootstrap.ts";
import { registerCheck } from "./commands/check.ts";
import { registerDiff } from "./commands/diff.ts";
import { registerDoctor } from "./commands/doctor.ts";
import { registerInit } from "./commands/init.ts";
import { registerLab } from "./commands/lab.ts";
import { registerPlan } from "./commands/plan.ts";
import { registerRender } from "./commands/render.ts";
import { registerRouter } from "./commands/router.ts";
import { registerSecrets } from "./commands/secrets.ts";
import { exitCodes } from "./commands/shared.ts";
import { registerSim } from "./commands/sim.ts";
import { registerValidate } from "./commands/validate.ts";
import { MissingTool } from "./tools/find.ts";

const program = new Command("ktsw")
  .description("Kubernetes The Sweaty Way: one config file in, a whole homelab rendered and proven")
  .option("-c, --config <file>", "the site config", "ktsw.yaml")
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    "after",
    `
Exit codes:
  0  everything is fine
  1  findings: the config or tree has errors, rendered files are stale, or diff found differences
  2  usage: unknown command, flag or argument (also a git ref that names no commit)
  3  a prerequisite (tool, root) is missing
  130  interrupted (Ctrl-C): the sim's up and drills first stop or put back what they changed`,
  );

for (const register of [
  registerInit,
  registerValidate,
  registerRender,
  registerPlan,
  registerDiff,
  registerDoctor,
  registerCheck,
  registerSecrets,
  registerLab,
  registerSim,
  registerBootstrap,
  registerRouter,
]) {
  register(program);
}

// No top-level await: the launcher runs the bundle as a CommonJS script, whose compiled code V8 can keep (bin/bundle.js).
void (async () => {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    } else if (err instanceof MissingTool) {
      // Any verb may need a tool: the message names it and how to install it.
      process.stderr.write(`ktsw: ${err.message}\n`);
      process.exitCode = exitCodes.prerequisite;
    } else {
      // An unexpected failure is a bug in ktsw, not in the user's input: say so, briefly.
      process.stderr.write(`ktsw: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 70;
    }
  }
})();
