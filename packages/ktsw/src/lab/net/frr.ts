// FRR daemons per namespace, without systemd: each daemon gets its own zserv socket, vty socket
// directory, pid file and log inside the namespace's lab folder, owned by the `frr` user (the
// daemons drop to it; as root they fail on the frrvty group). The configuration is applied through
// vtysh, which routes every line to the daemon that owns it, exactly as `frr-reload` would.
import { existsSync } from "node:fs";
import { chown, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { requireTool } from "../../tools/find.ts";
import { runsWith } from "../../tools/proc.ts";
import { poll } from "./poll.ts";
import { inNs, run } from "./shell.ts";

export const frrDaemons = ["zebra", "bfdd", "bgpd"] as const;
export type FrrDaemon = (typeof frrDaemons)[number];

export interface FrrInstance {
  ns: string;
  dir: string;
}

async function frrIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run("id", ["-u", "frr"]), run("id", ["-g", "frr"])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

export async function startDaemon(frr: FrrInstance, daemon: FrrDaemon): Promise<void> {
  const d = frr.dir;
  const args = [
    "-d",
    "-u",
    "frr",
    "-g",
    "frr",
    "-z",
    join(d, "zserv.api"),
    "--vty_socket",
    d,
    "-i",
    join(d, `${daemon}.pid`),
    "--log",
    `file:${join(d, `${daemon}.log`)}`,
    "-f",
    "/dev/null",
    "-P",
    "0",
    ...(daemon === "bfdd" ? ["--bfdctl", join(d, "bfdd.sock")] : []),
  ];
  await inNs(frr.ns, requireTool(daemon), ...args);
  await poll(
    `${daemon} in ${frr.ns} to run and open its vty socket`,
    async () => ({ pid: await daemonPid(frr, daemon), vty: existsSync(join(d, `${daemon}.vty`)) }),
    (s) => s.pid !== undefined && s.vty,
    { timeoutMs: 10_000 },
  );
}

export async function daemonPid(frr: FrrInstance, daemon: FrrDaemon): Promise<number | undefined> {
  const pidFile = join(frr.dir, `${daemon}.pid`);
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  // A daemon killed with SIGKILL leaves its pid file behind, and its pid goes to some later process: the pid is
  // this daemon only while its command line names this very pid file (a zombie has none: dead too).
  return runsWith(pid, pidFile) ? pid : undefined;
}

export async function vtysh(frr: FrrInstance, ...commands: string[]): Promise<string> {
  const args = ["--vty_socket", frr.dir, ...commands.flatMap((c) => ["-c", c])];
  return run("ip", ["netns", "exec", frr.ns, "vtysh", ...args], { env: { ...process.env, HOME: frr.dir } });
}

export async function applyConfig(frr: FrrInstance, config: string): Promise<void> {
  const file = join(frr.dir, "frr.conf");
  await writeFile(file, config);
  await run("ip", ["netns", "exec", frr.ns, "vtysh", "--vty_socket", frr.dir, "-f", file], {
    env: { ...process.env, HOME: frr.dir },
  });
}

export async function startFrr(ns: string, labDir: string, config: string): Promise<FrrInstance> {
  const dir = join(labDir, ns);
  await mkdir(dir, { recursive: true });
  const { uid, gid } = await frrIds();
  await chown(dir, uid, gid);
  const frr = { ns, dir };
  for (const daemon of frrDaemons) await startDaemon(frr, daemon);
  await applyConfig(frr, config);
  return frr;
}

/** Stops every daemon whose pid file is in the folder; only processes the lab started. */
export async function stopFrr(frr: FrrInstance, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  for (const daemon of [...frrDaemons].reverse()) {
    const pid = await daemonPid(frr, daemon);
    if (pid !== undefined) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

export async function killDaemon(frr: FrrInstance, daemon: FrrDaemon): Promise<void> {
  const pid = await daemonPid(frr, daemon);
  if (pid === undefined) throw new Error(`${daemon} is not running in ${frr.ns}`);
  process.kill(pid, "SIGKILL");
  await poll(
    `${daemon} in ${frr.ns} to exit`,
    () => daemonPid(frr, daemon),
    (pid) => pid === undefined,
    { timeoutMs: 10_000 },
  );
}
