// Finds the Go-built policy tools (opa, gator): on PATH first, then in `$(go env GOPATH)/bin`,
// where scripts/install-deps.sh puts them. Missing tools are reported with the install command,
// never replaced by a home-made evaluator.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

export type PolicyTool = "opa" | "gator";

function goBinDir(): string {
  try {
    return join(execFileSync("go", ["env", "GOPATH"], { encoding: "utf8", stdio: "pipe" }).trim(), "bin");
  } catch {
    return join(process.env.GOPATH ?? join(homedir(), "go"), "bin");
  }
}

/** Absolute path of the tool, or undefined when it is not installed. */
export function findTool(name: PolicyTool): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), goBinDir()];
  return dirs.map((dir) => join(dir, name)).find((candidate) => existsSync(candidate));
}

export function installHint(name: PolicyTool): string {
  return `${name} not found on PATH or in $(go env GOPATH)/bin; install it with \`bash scripts/install-deps.sh\` (pinned in deps/go-tools.txt)`;
}

/** Like findTool, but throws a clear error saying how to install it. */
export function requireTool(name: PolicyTool): string {
  const path = findTool(name);
  if (!path) throw new Error(installHint(name));
  return path;
}
