// A pid names a process only while that process lives: once it is reaped the kernel hands the number to the next
// process (pid_max is 32768 on many machines, and a test run starts thousands of processes). So a pid read back from
// a pid file or a record is signalled only while /proc shows the very program it was recorded for. A dead pid file
// left by a daemon killed with SIGKILL once got a sim's MetalLB controller killed in its place.
import { readFileSync } from "node:fs";

/** The process's argv, or undefined when no such process lives (a zombie has an empty command line). */
export function commandLine(pid: number): string[] | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return text === "" ? undefined : text.replace(/\0$/, "").split("\0");
  } catch {
    return undefined;
  }
}

/** Is `pid` alive and running a command line that has `arg` among its words (a pid file's path, a script)? */
export function runsWith(pid: number, arg: string): boolean {
  return commandLine(pid)?.includes(arg) === true;
}
