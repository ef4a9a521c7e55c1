// Helpers every verb shares: where the repo is, how findings are printed, exit codes.
import { dirname, resolve } from "node:path";
import pc from "picocolors";
import { type Finding, formatFinding, sortFindings } from "../diagnostics.ts";

/** Exit codes, documented in the README and `ktsw --help`. */
export const exitCodes = {
  ok: 0,
  /** The config or the tree has errors, rendered files are stale, or `diff` found differences. */
  findings: 1,
  /** The command was used wrongly (unknown flag, missing argument). */
  usage: 2,
  /** A prerequisite (a tool, root) is missing. */
  prerequisite: 3,
  /** Ctrl-C (or SIGTERM) stopped it; what it had changed was put back first (the drills say what). */
  interrupted: 130,
} as const;

export interface GlobalOptions {
  config: string;
}

/** The repository root is the folder holding ktsw.yaml: rendered paths are relative to it. */
export function repoRoot(configPath: string): string {
  return dirname(resolve(configPath));
}

export function printFindings(findings: readonly Finding[]): void {
  for (const f of sortFindings(findings)) {
    const line = formatFinding(f);
    process.stderr.write(`${f.severity === "error" ? pc.red("✗") : pc.yellow("!")} ${line}\n`);
  }
}

export function summary(ok: boolean, text: string): void {
  process.stdout.write(`${ok ? pc.green("✓") : pc.red("✗")} ${text}\n`);
}
