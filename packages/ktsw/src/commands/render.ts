import type { Command } from "commander";
import { type LoadResult, loadConfig } from "../config/load.ts";
import { renderAll } from "../render/index.ts";
import { findDrift, writeFiles } from "../render/write.ts";
import { exitCodes, type GlobalOptions, printFindings, repoRoot, summary } from "./shared.ts";

/** Returns the exit code so `ktsw check` can compose it; `loaded` lets it parse ktsw.yaml once. */
export async function runRender(opts: GlobalOptions & { check?: boolean }, loaded?: LoadResult): Promise<number> {
  const { config, findings } = loaded ?? (await loadConfig(opts.config));
  if (!config) {
    printFindings(findings);
    return exitCodes.findings;
  }
  const files = renderAll(config);
  const root = repoRoot(opts.config);
  if (opts.check) {
    const drift = await findDrift(root, files);
    for (const d of drift) process.stderr.write(`  ${d.reason === "missing" ? "missing" : "stale  "} ${d.path}\n`);
    summary(drift.length === 0, `render --check: ${Object.keys(files).length} files, ${drift.length} out of date`);
    if (drift.length > 0) process.stderr.write("Run `ktsw render` and commit the result.\n");
    return drift.length === 0 ? exitCodes.ok : exitCodes.findings;
  }
  const changed = await writeFiles(root, files);
  for (const path of changed) process.stdout.write(`  wrote ${path}\n`);
  summary(true, `render: ${Object.keys(files).length} files, ${changed.length} changed`);
  return exitCodes.ok;
}

export function registerRender(program: Command): void {
  program
    .command("render")
    .description("render every artifact (cloud-init, k3s, OpenTofu vars, router, cluster settings) from ktsw.yaml")
    .option("--check", "write nothing; exit 1 and list the files that differ from what would be rendered")
    .action(async (opts: { check?: boolean }) => {
      process.exitCode = await runRender({ ...program.opts<GlobalOptions>(), ...opts });
    });
}
