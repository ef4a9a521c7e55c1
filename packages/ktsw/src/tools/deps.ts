// deps/apt.txt and deps/go-tools.txt, the lists scripts/install-deps.sh installs from, read the way it
// reads them: `name [module@version [goX.Y.Z]]  # why`, comments and blank lines skipped.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface DepLine {
  name: string;
  /** `module@version`, for the Go list. */
  module?: string;
  /** The Go toolchain the module needs (`go1.27.3`), when newer than the local one. */
  toolchain?: string;
  why: string;
}

export interface DepLists {
  apt: DepLine[];
  go: DepLine[];
}

/** The repository's deps/ folder (the CLI always runs from its source in the repository). */
export const depsFolder = fileURLToPath(new URL("../../../../deps/", import.meta.url));

/** Parses `name [module@version]  # why` lines, skipping comments and blanks. */
export function parseDepList(text: string, withModule: boolean): DepLine[] {
  return text.split("\n").flatMap((raw) => {
    const [body = "", ...comment] = raw.split("#");
    const fields = body.trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) return [];
    const [name = "", module, toolchain] = fields;
    return [
      {
        name,
        ...(withModule && module ? { module } : {}),
        ...(withModule && toolchain ? { toolchain } : {}),
        why: comment.join("#").trim(),
      },
    ];
  });
}

/** Both lists; empty when the folder is not there. */
export function readDepLists(folder = depsFolder): DepLists {
  const read = (file: string) => (existsSync(join(folder, file)) ? readFileSync(join(folder, file), "utf8") : "");
  return { apt: parseDepList(read("apt.txt"), false), go: parseDepList(read("go-tools.txt"), true) };
}
