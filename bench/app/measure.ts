import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

// What a bench run costs: CPU time of whole process trees, the services' and the servers' (a
// PostgreSQL backend that exits is still counted: its parent's cutime/cstime holds it once reaped).

const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks */
  ticks: number;
}

/** Fields after the command name (which may hold spaces and parentheses): state is field 3. */
export function parseProcStat(line: string): ProcStat {
  const pid = Number(line.slice(0, line.indexOf(" ")));
  const f = line.slice(line.lastIndexOf(")") + 2).split(" ");
  const n = (i: number) => Number(f[i - 3]);
  return { pid, ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17) };
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.push(parseProcStat(readFileSync(`/proc/${name}/stat`, "utf8")));
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}

/** CPU milliseconds used so far by each named process and all its descendants. */
export function treeCpuMs(roots: Record<string, number | undefined>): Record<string, number> {
  const stats = allStats();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(roots)) {
    let ticks = 0;
    const todo = pid === undefined ? [] : [byPid.get(pid)].filter((s): s is ProcStat => s !== undefined);
    while (todo.length > 0) {
      const s = todo.pop() as ProcStat;
      ticks += s.ticks;
      todo.push(...(children.get(s.pid) ?? []));
    }
    out[name] = (ticks * 1000) / ticksPerSecond;
  }
  return out;
}

export type CpuSample = Record<string, number>;

export const cpuDelta = (a: CpuSample, b: CpuSample): CpuSample =>
  Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));

/** The q-quantile (0..1) of samples by nearest rank; NaN when there are none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}
