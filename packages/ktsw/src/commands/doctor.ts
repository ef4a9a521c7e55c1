// `ktsw doctor`: are the local prerequisites there? It checks every line of the lists the installer
// reads (deps/apt.txt, deps/go-tools.txt, deps/python.txt's packages with programs) and the sim's build list
// (deps/sim-tools.txt) by looking up the binaries that line provides with the same lookup every command uses,
// so doctor can never disagree with what CI installs or what a command finds; a server distribution of
// deps/maven.txt by its unpacked folder.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { type SimToolName, type ToolName, toolSpec } from "../tools/catalog.ts";
import { depsFolder, readDepLists } from "../tools/deps.ts";
import { findTool, installStep, missingSimTools, simBuildStep } from "../tools/find.ts";
import { prerequisites } from "../tools/prerequisites.ts";
import { exitCodes, summary } from "./shared.ts";

export async function runDoctor(): Promise<number> {
  let missing = 0;
  const report = (ok: boolean, what: string, fix: string) => {
    summary(ok, ok ? what : `${what} — ${fix}`);
    if (!ok) missing++;
  };

  const major = Number(process.versions.node.split(".")[0]);
  report(major >= 20, `node ${process.versions.node} (needs ≥ 20)`, "install Node.js 20 or newer");
  const deps = readDepLists();
  for (const p of prerequisites(deps)) {
    const what = `${p.list} ${p.module ?? p.name} (${p.folder ?? (p.bins.join(", ") || "?")}): ${p.why}`;
    if (p.folder !== undefined) {
      const installed = existsSync(join(depsFolder, "..", p.folder, ".ktsw-installed"));
      report(installed, what, "not installed: `bash scripts/install-deps.sh` (deps/maven.txt)");
      continue;
    }
    const [first] = p.bins;
    if (first === undefined) {
      report(false, what, "no binary known for it: add what it provides to packages/ktsw/src/tools/catalog.ts");
      continue;
    }
    if (p.list === "sim") {
      const absent = missingSimTools(p.bins as SimToolName[]);
      report(absent.length === 0, what, `not built: ${simBuildStep()}`);
      continue;
    }
    const bins = p.bins as ToolName[];
    const absent = bins.filter((bin) => !findTool(bin));
    report(
      absent.length === 0,
      what,
      `missing ${absent.join(", ")}: ${installStep(toolSpec(first as ToolName), deps)}`,
    );
  }
  const isRoot = process.getuid?.() === 0;
  summary(
    isRoot,
    isRoot ? "running as root (the network lab can create namespaces)" : "not root: `ktsw lab net` needs root",
  );
  if (missing > 0) {
    process.stdout.write(
      `\n${missing} missing. \`bash scripts/install-deps.sh\` installs them all; \`bash scripts/build-sim-tools.sh\` builds the sim's programs.\n`,
    );
  }
  return missing === 0 ? exitCodes.ok : exitCodes.prerequisite;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description(
      "check local prerequisites (Node, Debian packages, Go tools, the sim's builds) and say how to install what is missing",
    )
    .action(async () => {
      process.exitCode = await runDoctor();
    });
}
