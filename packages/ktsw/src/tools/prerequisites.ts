// The deps lists joined with the tool catalog: one row per line of deps/apt.txt, deps/go-tools.txt and
// deps/sim-tools.txt, and each deps/python.txt package that provides programs, with the binaries that line provides,
// and one per server distribution of deps/maven.txt, with the folder it is unpacked into. `ktsw doctor` checks exactly
// these rows.
import { checkTools, mavenFolder, type SimToolName, simTools, type ToolName, type ToolSpec, tools } from "./catalog.ts";
import type { DepLists } from "./deps.ts";

export interface Prerequisite {
  list: "apt" | "go" | "sim" | "python" | "maven";
  /** The Debian package or the Go binary, as the list names it. */
  name: string;
  module?: string;
  why: string;
  /** What the catalog says this line provides; empty means the catalog has not heard of it. */
  bins: (ToolName | SimToolName)[];
  /** A distribution's folder (relative to the repository), for the maven list: it provides no program on a path. */
  folder?: string;
}

const isSimTool = (name: string): name is SimToolName =>
  ([...simTools, ...checkTools] as readonly string[]).includes(name);

const providedBy = (list: "apt" | "go" | "python", name: string) =>
  tools
    .filter((t: ToolSpec) =>
      list === "apt"
        ? "apt" in t.from && t.from.apt === name
        : list === "python"
          ? "python" in t.from && t.from.python === name
          : "go" in t.from && t.bin === name,
    )
    .map((t) => t.bin);

export function prerequisites(deps: DepLists): Prerequisite[] {
  return [
    ...deps.apt.map((d) => ({ list: "apt" as const, name: d.name, why: d.why, bins: providedBy("apt", d.name) })),
    ...deps.go.map((d) => ({
      list: "go" as const,
      name: d.name,
      ...(d.module ? { module: d.module } : {}),
      why: d.why,
      bins: providedBy("go", d.name),
    })),
    ...deps.sim.map((d) => ({
      list: "sim" as const,
      name: d.name,
      ...(d.module ? { module: d.module } : {}),
      why: d.why,
      bins: isSimTool(d.name) ? [d.name] : [],
    })),
    // Only the packages that provide programs: the others (boto3, psycopg2...) are their pinned libraries.
    ...deps.python
      .map((d) => ({
        list: "python" as const,
        name: d.name,
        ...(d.module ? { module: d.module } : {}),
        why: d.why,
        bins: providedBy("python", d.name),
      }))
      .filter((p) => p.bins.length > 0),
    ...deps.maven.map((d) => ({
      list: "maven" as const,
      name: d.name,
      ...(d.module ? { module: d.module } : {}),
      why: d.why,
      bins: [],
      folder: mavenFolder(d.name, d.module?.split(":")[2] ?? "?"),
    })),
  ];
}
