// A pid read back from a record or a pid file is someone else's once its process is gone: each check that
// signals such a pid recognises the program first, so a recycled pid is never hit.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { daemonPid } from "../../src/lab/net/frr.ts";
import { isRunning } from "../../src/sim/processes.ts";
import { commandLine, runsWith } from "../../src/tools/proc.ts";

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A live process that is none of ours, with `mark` among its words (it lives until killed, whatever the mark). */
function bystander(mark = "600"): ChildProcess & { pid: number } {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 60_000)", mark], { stdio: "ignore" });
  children.push(child);
  if (child.pid === undefined) throw new Error("could not start sleep");
  return child as ChildProcess & { pid: number };
}

const exited = (c: ChildProcess) => new Promise<void>((done) => c.once("exit", () => done()));

describe("recognising a process by its pid", () => {
  test("a live process's command line is its argv; a gone one has none", async () => {
    const child = bystander("601");
    expect(commandLine(child.pid)).toEqual([process.execPath, "-e", "setInterval(() => {}, 60_000)", "601"]);
    expect(runsWith(child.pid, "601")).toBe(true);
    expect(runsWith(child.pid, "602")).toBe(false);
    const gone = exited(child);
    child.kill("SIGKILL");
    await gone;
    expect(commandLine(child.pid)).toBeUndefined();
    expect(runsWith(child.pid, "601")).toBe(false);
  });

  test("nonsense pids name no process", () => {
    for (const pid of [0, -1, Number.NaN, 1.5]) expect(commandLine(pid)).toBeUndefined();
  });

  test("an FRR pid file whose pid now belongs to another program names no daemon (it is not signalled)", () => {
    const dir = mkdtempSync(join(tmpdir(), "ktsw-proc-"));
    dirs.push(dir);
    const other = bystander();
    writeFileSync(join(dir, "bgpd.pid"), `${other.pid}\n`);
    return expect(daemonPid({ ns: "ktsw-none", dir }, "bgpd")).resolves.toBeUndefined();
  });

  test("an FRR pid file whose process names that pid file is the daemon", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktsw-proc-"));
    dirs.push(dir);
    const pidFile = join(dir, "bgpd.pid");
    const daemon = bystander(pidFile);
    writeFileSync(pidFile, `${daemon.pid}\n`);
    await expect(daemonPid({ ns: "ktsw-none", dir }, "bgpd")).resolves.toBe(daemon.pid);
  });

  test("a sim's recorded process is running only while its pid runs the recorded program", () => {
    const child = bystander();
    expect(isRunning({ pid: child.pid, bin: process.execPath })).toBe(true);
    expect(isRunning({ pid: child.pid, bin: "/opt/sim/bin/metallb-controller" })).toBe(false);
  });
});
