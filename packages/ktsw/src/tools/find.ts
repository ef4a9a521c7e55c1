// The one way KTSW finds a program: PATH first, then the sbin folders, then the folders the tool's
// package uses off PATH (Go's bin folder, /usr/lib/frr, PostgreSQL's versioned bin). A missing tool is
// one error that names it and the install step; the CLI turns it into exit 3 (missing prerequisite).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import {
  goBinFolder,
  pythonBinFolder,
  type SimToolName,
  simBinFolder,
  systemFolders,
  type ToolName,
  type ToolSpec,
  toolSpec,
} from "./catalog.ts";
import { type DepLists, depsFolder, readDepLists } from "./deps.ts";

/** What a lookup may see of the machine; tests pass their own. */
export interface LookupEnv {
  path: readonly string[];
  goBin: () => string;
  exists: (file: string) => boolean;
}

let goBinCache: string | undefined;

function goBin(): string {
  if (goBinCache === undefined) {
    try {
      goBinCache = join(execFileSync("go", ["env", "GOPATH"], { encoding: "utf8", stdio: "pipe" }).trim(), "bin");
    } catch {
      // No Go toolchain: its default GOPATH is still where an earlier `go install` put things.
      goBinCache = join(process.env.GOPATH || join(homedir(), "go"), "bin");
    }
  }
  return goBinCache;
}

export const machine = (): LookupEnv => ({
  path: (process.env.PATH ?? "").split(delimiter).filter(Boolean),
  goBin,
  exists: existsSync,
});

/** The repository's folder of an install that lives inside it (the Python environment). */
const repoFolder = (relative: string) => join(depsFolder, "..", relative);

/** The folders searched for a tool, in order; a Python program only in the repository's pinned environment. */
export function searchFolders(spec: ToolSpec, env: LookupEnv): string[] {
  const own = (spec.folders ?? []).map((f) =>
    f === goBinFolder ? env.goBin() : f === pythonBinFolder ? repoFolder(pythonBinFolder) : f,
  );
  if ("python" in spec.from) return own;
  return [...new Set([...env.path, ...systemFolders, ...own])];
}

/** Absolute path of the tool, or undefined when it is not installed. */
export function findTool(bin: ToolName, env: LookupEnv = machine()): string | undefined {
  const spec = toolSpec(bin);
  const at = (folders: readonly string[]) =>
    folders.map((folder) => join(folder, bin)).find((file) => env.exists(file));
  // PATH and the sbin folders come first anyway: found there, the tool's own folders (one of them
  // asks `go env`, a process) are not needed.
  return ("python" in spec.from ? undefined : at([...env.path, ...systemFolders])) ?? at(searchFolders(spec, env));
}

/** How to install a tool, from the deps list that names it. */
export function installStep(spec: ToolSpec, deps: DepLists = readDepLists()): string {
  const all = "`bash scripts/install-deps.sh` installs every listed tool";
  if ("apt" in spec.from) return `\`apt-get install ${spec.from.apt}\` (deps/apt.txt; ${all})`;
  if ("python" in spec.from) {
    const pkg = spec.from.python;
    const line = deps.python.find((d) => d.name === pkg);
    return `\`bash scripts/install-deps.sh\` (${line?.module ?? pkg} from deps/python.txt into ${pythonBinFolder})`;
  }
  if ("go" in spec.from) {
    const line = deps.go.find((d) => d.name === spec.bin);
    const env = line?.toolchain ? `GOTOOLCHAIN=${line.toolchain} ` : "";
    return `${line?.module ? `\`${env}go install ${line.module}\`` : "`go install`"} (pinned in deps/go-tools.txt; ${all})`;
  }
  return spec.from.optional;
}

/** The one message for a missing tool: what, where it was looked for, how to install it. */
export function missingToolMessage(bin: ToolName, env: LookupEnv = machine()): string {
  const spec = toolSpec(bin);
  const own = (spec.folders ?? []).map((f) => (f === goBinFolder ? `${goBinFolder} (${env.goBin()})` : f));
  const where = ("python" in spec.from ? own : ["PATH", ...systemFolders, ...own]).join(", ");
  return `${bin} not found (looked in ${where}); install it with ${installStep(spec)}`;
}

export class MissingTool extends Error {
  override name = "MissingTool";
  constructor(
    readonly bin: ToolName | SimToolName,
    env?: LookupEnv,
    message = missingToolMessage(bin as ToolName, env),
  ) {
    super(message);
  }
}

/** Like findTool, but a missing tool throws MissingTool. */
export function requireTool(bin: ToolName, env: LookupEnv = machine()): string {
  const file = findTool(bin, env);
  if (!file) throw new MissingTool(bin, env);
  return file;
}

/** Why these tools cannot all be used here (the first missing one), or undefined: for preflights
 *  and for tests that skip loudly. */
export function whyMissing(bins: readonly ToolName[], env: LookupEnv = machine()): string | undefined {
  const missing = bins.find((bin) => !findTool(bin, env));
  return missing && missingToolMessage(missing, env);
}

/** The sim's default cache folder in this repository. */
export const defaultSimBin = join(depsFolder, "..", simBinFolder);

/** The pinned version of a sim program, from deps/sim-tools.txt. */
export function simToolVersion(name: SimToolName, deps: DepLists = readDepLists()): string {
  const module = deps.sim.find((d) => d.name === name)?.module;
  if (!module?.includes("@")) throw new Error(`deps/sim-tools.txt has no pinned line for ${name}`);
  return module.slice(module.lastIndexOf("@") + 1);
}

/** The file a sim program is built to: `<folder>/<name>-<version>`. */
export function simToolFile(name: SimToolName, folder = defaultSimBin, deps: DepLists = readDepLists()): string {
  return join(folder, `${name}-${simToolVersion(name, deps)}`);
}

/** How to build the sim's programs: the one script both `ktsw sim up` and CI run. */
export function simBuildStep(folder = defaultSimBin): string {
  const out = folder === defaultSimBin ? "" : ` --out ${folder}`;
  return `\`bash scripts/build-sim-tools.sh${out}\` (pinned in deps/sim-tools.txt; \`ktsw sim up\` runs it for what is missing)`;
}

/** The sim programs not built yet in `folder`, in the list's order. */
export function missingSimTools<T extends SimToolName>(
  names: readonly T[],
  folder = defaultSimBin,
  exists: (file: string) => boolean = existsSync,
): T[] {
  const deps = readDepLists();
  return names.filter((name) => !exists(simToolFile(name, folder, deps)));
}

/** The built sim program, or MissingTool naming the build step. */
export function requireSimTool(name: SimToolName, folder = defaultSimBin): string {
  const file = simToolFile(name, folder);
  if (!existsSync(file)) {
    throw new MissingTool(
      name,
      undefined,
      `${name} not built (looked for ${file}); build it with ${simBuildStep(folder)}`,
    );
  }
  return file;
}
