// deps/apt.txt and deps/go-tools.txt, the lists scripts/install-deps.sh installs from, and deps/sim-tools.txt, the
// list scripts/build-sim-tools.sh builds from, and deps/python.txt (pip's pins), read the way those scripts read them:
// `name [module@version [goX.Y.Z | wrapper]]  # why`, comments and blank lines skipped.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface DepLine {
  name: string;
  /** `module@version`, for the Go lists. */
  module?: string;
  /** The Go toolchain the module needs (`go1.27.3`), when newer than the local one. */
  toolchain?: string;
  /** The sim list's build wrapper: `-` for a plain `go install`, else a folder under deps/sim. */
  wrapper?: string;
  why: string;
}

export interface DepLists {
  apt: DepLine[];
  go: DepLine[];
  /** The simulated cluster's programs (`ktsw sim`): built into a cache, not onto PATH. */
  sim: DepLine[];
  /** Python packages (`name==version`, module is the whole pin) for the repository's Python environment. */
  python: DepLine[];
  /** Server distributions from Maven Central (`name group:artifact:version:packaging`), unpacked into .cache/ktsw. */
  maven: DepLine[];
}

/** The repository's deps/ folder (the CLI always runs from its source in the repository). */
export const depsFolder = fileURLToPath(new URL("../../../../deps/", import.meta.url));

/** Parses `name [module@version]  # why` lines, skipping comments and blanks. */
export function parseDepList(text: string, withModule: boolean): DepLine[] {
  return text.split("\n").flatMap((raw) => {
    const [body = "", ...comment] = raw.split("#");
    const fields = body.trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) return [];
    const [name = "", module, third] = fields;
    // The third field is the Go toolchain a go-tools module needs (`go1.27.3`), or a sim-tools build wrapper.
    const toolchain = third && /^go\d/.test(third) ? third : undefined;
    const wrapper = third && !toolchain ? third : undefined;
    const extra = withModule
      ? { ...(module ? { module } : {}), ...(toolchain ? { toolchain } : {}), ...(wrapper ? { wrapper } : {}) }
      : {};
    return [{ name, ...extra, why: comment.join("#").trim() }];
  });
}

/** Parses deps/python.txt: `package==version  # why`, as pip reads a requirements file. */
export function parsePythonList(text: string): DepLine[] {
  return parseDepList(text, false).map((d) => ({ ...d, name: d.name.split("==")[0] ?? d.name, module: d.name }));
}

/** Every list; empty when the folder is not there. */
export function readDepLists(folder = depsFolder): DepLists {
  const read = (file: string) => (existsSync(join(folder, file)) ? readFileSync(join(folder, file), "utf8") : "");
  return {
    apt: parseDepList(read("apt.txt"), false),
    go: parseDepList(read("go-tools.txt"), true),
    sim: parseDepList(read("sim-tools.txt"), true),
    python: parsePythonList(read("python.txt")),
    maven: parseDepList(read("maven.txt"), true),
  };
}
