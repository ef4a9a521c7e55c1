import { resolve } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import { countChanges } from "../diff/compare.ts";
import { formatMarkdown, formatText } from "../diff/format.ts";
import { BadRef } from "../diff/git-ref.ts";
import { diffSiteAgainstRef } from "../diff/index.ts";
import { exitCodes, type GlobalOptions, printFindings } from "./shared.ts";
import { withBuildOptions } from "./validate.ts";

export interface DiffCommandOptions {
  format: string;
  charts?: string;
  k8sSchemas?: string;
  tree: string;
}

const formats = ["text", "markdown"] as const;

/**
 * Exit codes as `git diff --exit-code`, `diff` and `kubectl diff` use them: 0 nothing differs,
 * 1 something differs (or a side could not be read), 2 a bad ref or flag, 3 a missing tool.
 * (flate and flux-local exit 0 either way: a CI job posting the comment treats 1 as success.)
 */
export async function runDiff(opts: GlobalOptions, ref: string, dopts: DiffCommandOptions): Promise<number> {
  if (!(formats as readonly string[]).includes(dopts.format)) {
    process.stderr.write(`ktsw diff: --format must be ${formats.join(" or ")}, not "${dopts.format}"\n`);
    return exitCodes.usage;
  }
  const started = performance.now();
  let result: Awaited<ReturnType<typeof diffSiteAgainstRef>>;
  try {
    result = await diffSiteAgainstRef({
      config: resolve(opts.config),
      ref,
      treeDir: dopts.tree,
      ...(dopts.charts ? { charts: dopts.charts } : {}),
      ...(dopts.k8sSchemas ? { k8sSchemas: resolve(dopts.k8sSchemas) } : {}),
    });
  } catch (err) {
    if (!(err instanceof BadRef)) throw err;
    process.stderr.write(`ktsw diff: ${err.message}\n`);
    return exitCodes.usage;
  }
  printFindings(result.findings);
  if (result.incomplete) {
    process.stderr.write(
      "ktsw diff: a side could not be read (its ktsw.yaml is missing or invalid), nothing compared\n",
    );
    return exitCodes.findings;
  }
  const heading = { ref, commit: result.commit.slice(0, 12), seconds: (performance.now() - started) / 1000 };
  if (dopts.format === "markdown") process.stdout.write(formatMarkdown(result.diff, heading));
  else {
    for (const note of result.notes) process.stdout.write(`${pc.dim(`· ${note}`)}\n`);
    process.stdout.write(formatText(result.diff, heading));
  }
  const counts = countChanges(result.diff.layers);
  return counts.added + counts.removed + counts.changed > 0 ? exitCodes.findings : exitCodes.ok;
}

export function registerDiff(program: Command): void {
  withBuildOptions(
    program
      .command("diff")
      .description(
        "the whole site at a git ref against the working tree: every file `render` makes and every object Flux would apply (charts rendered), by layer and object; Secrets only say that they changed. Exit 0: no differences, 1: differences",
      )
      .argument("<git-ref>", "the commit to compare with (a branch, tag, commit id, HEAD~1...)")
      .option("--format <format>", "text, or markdown for a pull-request comment", "text"),
  ).action(async (ref: string, dopts: DiffCommandOptions) => {
    process.exitCode = await runDiff(program.opts<GlobalOptions>(), ref, dopts);
  });
}
