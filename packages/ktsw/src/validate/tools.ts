// Finds the Go-built tools validate and secrets drive (kustomize, sops): on PATH first, then in
// `$(go env GOPATH)/bin`, where scripts/install-deps.sh puts them. A missing tool is an error that
// says how to install it; nothing is emulated.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

let goBin: string | undefined;

function goBinDir(): string {
  if (goBin) return goBin;
  try {
    goBin = join(execFileSync("go", ["env", "GOPATH"], { encoding: "utf8", stdio: "pipe" }).trim(), "bin");
  } catch {
    goBin = join(process.env.GOPATH ?? join(homedir(), "go"), "bin");
  }
  return goBin;
}

/** Absolute path of the tool, or undefined when it is not installed. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean)];
  const onPath = dirs.map((dir) => join(dir, name)).find((candidate) => existsSync(candidate));
  if (onPath) return onPath;
  const inGoBin = join(goBinDir(), name);
  return existsSync(inGoBin) ? inGoBin : undefined;
}

export function installHint(name: string): string {
  const how =
    name === "age"
      ? "apt-get install age (listed in deps/apt.txt)"
      : "`bash scripts/install-deps.sh` (pinned in deps/go-tools.txt)";
  return `${name} not found on PATH or in $(go env GOPATH)/bin; install it with ${how}`;
}

export function requireTool(name: string): string {
  const path = findTool(name);
  if (!path) throw new Error(installHint(name));
  return path;
}
