// Process supervision for a sim that outlives the command that started it: `up` starts each program in its own
// process group (so a stray child of it cannot survive `down`), output to a log file in the state folder, and
// records pid + program; `down` signals each group, newest first, and waits for it to be gone. A recorded pid is
// only signalled while /proc shows the very program recorded, so a reused pid is never hit.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { poll } from "../lab/net/poll.ts";
import { commandLine } from "../tools/proc.ts";

export interface Started {
  name: string;
  pid: number;
  bin: string;
  log: string;
}

/** Starts `bin` detached (its own process group, not tied to this process's terminal) with output to `log`;
 *  `env` is added to this process's environment. */
export function startDetached(
  name: string,
  bin: string,
  args: readonly string[],
  logs: string,
  env: Readonly<Record<string, string>> = {},
): Started {
  const log = join(logs, `${name}.log`);
  const fd = openSync(log, "a");
  try {
    const child = spawn(bin, args, { detached: true, stdio: ["ignore", fd, fd], env: { ...process.env, ...env } });
    if (child.pid === undefined) throw new Error(`${name}: could not start ${bin}`);
    child.unref();
    return { name, pid: child.pid, bin, log };
  } finally {
    closeSync(fd);
  }
}

/** Is this recorded process still the program we started? */
export function isRunning(p: Pick<Started, "pid" | "bin">): boolean {
  return commandLine(p.pid)?.[0] === p.bin;
}

/** The last lines of a process's log, for an error that says why it stopped. */
export function logTail(log: string, lines = 15): string {
  try {
    return readFileSync(log, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

const signalGroup = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
};

/** Stops each process group, newest first: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopAll(started: readonly Started[], graceMs = 10_000): Promise<void> {
  for (const p of [...started].reverse()) {
    if (!isRunning(p)) continue;
    signalGroup(p.pid, "SIGTERM");
    try {
      await poll(
        `${p.name} (pid ${p.pid}) to exit`,
        async () => isRunning(p),
        (running) => !running,
        {
          timeoutMs: graceMs,
        },
      );
    } catch {
      signalGroup(p.pid, "SIGKILL");
      await poll(
        `${p.name} (pid ${p.pid}) to die`,
        async () => isRunning(p),
        (running) => !running,
        {
          timeoutMs: 5_000,
        },
      );
    }
  }
}

/** Waits until `ready()` holds while the process keeps running; a process that exits fails at once, with its log. */
export async function waitReady(
  p: Started,
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const reading = await poll(
    what,
    async () => ({ running: isRunning(p), ready: await ready().catch(() => false) }),
    (r) => !r.running || r.ready,
    { timeoutMs, everyMs: 250 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nlast lines of ${p.log}:\n${logTail(p.log)}`);
  });
  if (!reading.running) throw new Error(`${p.name} exited before ${what}; last lines of ${p.log}:\n${logTail(p.log)}`);
}
