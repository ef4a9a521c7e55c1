// `ktsw doctor`: are the local prerequisites there? The lists are the same files the installer
// reads (deps/apt.txt, deps/go-tools.txt), so doctor can never disagree with what CI installs.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { exitCodes, type GlobalOptions, repoRoot, summary } from "./shared.ts";

export interface DepLine {
  name: string;
  module?: string;
  why: string;
}

/** Parses `name [module@version]  # why` lines, skipping comments and blanks. */
export function parseDepList(text: string, withModule: boolean): DepLine[] {
  return text.split("\n").flatMap((raw) => {
    const [body = "", ...comment] = raw.split("#");
    const fields = body.trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) return [];
    const [name = "", module] = fields;
    return [{ name, ...(withModule && module ? { module } : {}), why: comment.join("#").trim() }];
  });
}

function aptInstalled(pkg: string): boolean {
  try {
    return execFileSync("dpkg-query", ["-W", `-f=${"$"}{Status}`, pkg], { encoding: "utf8", stdio: "pipe" }).includes(
      "install ok installed",
    );
  } catch {
    return false;
  }
}

function goBin(): string {
  try {
    return join(execFileSync("go", ["env", "GOPATH"], { encoding: "utf8" }).trim(), "bin");
  } catch {
    return "";
  }
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(join(dir, bin)));
}

export async function runDoctor(opts: GlobalOptions): Promise<number> {
  const root = repoRoot(opts.config);
  const read = (f: string) => (existsSync(join(root, f)) ? readFileSync(join(root, f), "utf8") : "");
  let missing = 0;
  const report = (ok: boolean, what: string, fix: string) => {
    summary(ok, ok ? what : `${what} — ${fix}`);
    if (!ok) missing++;
  };

  const major = Number(process.versions.node.split(".")[0]);
  report(major >= 20, `node ${process.versions.node} (needs ≥ 20)`, "install Node.js 20 or newer");
  for (const dep of parseDepList(read("deps/apt.txt"), false)) {
    report(aptInstalled(dep.name), `apt ${dep.name}: ${dep.why}`, `sudo apt-get install ${dep.name}`);
  }
  const gobin = goBin();
  for (const dep of parseDepList(read("deps/go-tools.txt"), true)) {
    const found = onPath(dep.name) || (gobin !== "" && existsSync(join(gobin, dep.name)));
    report(found, `${dep.name} (${dep.module}): ${dep.why}`, `go install ${dep.module}`);
  }
  const isRoot = process.getuid?.() === 0;
  summary(
    isRoot,
    isRoot ? "running as root (the network lab can create namespaces)" : "not root: `ktsw lab net` needs root",
  );
  if (missing > 0) process.stdout.write(`\n${missing} missing. \`bash scripts/install-deps.sh\` installs them all.\n`);
  return missing === 0 ? exitCodes.ok : exitCodes.prerequisite;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check local prerequisites (Node, Debian packages, Go tools) and say how to install what is missing")
    .action(async () => {
      process.exitCode = await runDoctor(program.opts<GlobalOptions>());
    });
}
