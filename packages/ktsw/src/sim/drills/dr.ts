// `ktsw sim drill dr`: the seed's promise "if the cluster dies, install Flux and the state restores itself". It
// records what is Ready, wipes the control plane (`sim down`: every process stopped, etcd's data removed), starts a
// fresh one in the same folder from the same ktsw.yaml (`sim up`), runs `ktsw sim bootstrap` as a user would, and
// times until everything Ready before is Ready again. The analysis is dr-report.ts; this is the I/O around it.
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { readFlux, rowId } from "../../bootstrap/run.ts";
import type { KtswConfig } from "../../config/schema.ts";
import { poll } from "../../lab/net/poll.ts";
import { type Progress, simDown, simUp, stateOf } from "../cluster.ts";
import { simKubectl } from "../kubectl.ts";
import { simLayout } from "../layout.ts";
import { cliCommand } from "../sources/index.ts";
import type { FluxRow } from "../status.ts";
import { type DrReport, missingNow, readyIds } from "./dr-report.ts";

export interface DrOptions {
  dir: string;
  config: KtswConfig;
  /** The ktsw.yaml the bootstrap reads (passed on to `ktsw sim bootstrap`). */
  configPath: string;
  repoRoot: string;
  binFolder: string;
  ageKeyFile: string;
  /** How long the restored tree may take to be Ready again. */
  timeoutMs: number;
  progress: Progress;
  /** Ctrl-C: stop waiting and stop the bootstrap; the sim is left as it is at that moment (said in the report). */
  signal?: AbortSignal;
}

/** `ktsw sim bootstrap` as a child process, its output passed on line by line; resolves with its exit code. */
function startBootstrap(o: DrOptions, say: Progress) {
  const cli = cliCommand();
  const args = [
    ...cli.args,
    ...["--config", o.configPath, "sim", "--dir", o.dir, "--bin", o.binFolder],
    ...["bootstrap", "--age-key", o.ageKeyFile, "--timeout", String(Math.ceil(o.timeoutMs / 1000))],
  ];
  const child = spawn(cli.bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on("line", say);
  const exited = new Promise<number>((done) => child.once("close", (code) => done(code ?? 1)));
  return { child, exited };
}

export async function drillDr(o: DrOptions): Promise<DrReport> {
  const state = await stateOf(simLayout(o.dir));
  if (!state?.ready) throw new Error(`no sim runs from ${o.dir} (\`ktsw sim up\` then \`ktsw sim bootstrap\`)`);
  const readyBefore = readyIds(await readFlux(simKubectl(o.binFolder, state.kubeconfig)));
  if (readyBefore.length === 0) {
    throw new Error("nothing is Ready in the sim, so nothing to restore (`ktsw sim bootstrap` first)");
  }
  o.progress(`${readyBefore.length} Kustomizations and HelmReleases Ready before the wipe`);
  const t0 = performance.now();
  const at = () => (performance.now() - t0) / 1000;
  const phases: DrReport["phases"] = [];
  const phase = (what: string) => {
    phases.push({ what, at: at() });
    o.progress(`${at().toFixed(1)} s  ${what}`);
  };

  const stopped = await simDown(o.dir);
  phase(`control plane wiped: ${stopped.length} processes stopped, etcd's data removed`);
  // Interrupted during the wipe: no sim runs now, and none is started (`sim up` would start one).
  o.signal?.throwIfAborted();
  const fresh = await simUp(o.config, {
    dir: o.dir,
    repoRoot: o.repoRoot,
    binFolder: o.binFolder,
    build: false,
    progress: (line) => o.progress(`  up: ${line}`),
  });
  phase("a fresh control plane is up (empty etcd)");
  const kubectl = simKubectl(o.binFolder, fresh.kubeconfig);
  const boot = startBootstrap(o, (line) => o.progress(`  bootstrap: ${line.trim()}`));
  let exitCode: number | undefined;
  void boot.exited.then((code) => {
    exitCode = code;
  });
  const readyAgain = new Map<string, number>();
  let last: FluxRow[] = [];
  try {
    await poll(
      "everything Ready before the wipe to be Ready again",
      async () => {
        const finished = exitCode !== undefined;
        last = await readFlux(kubectl);
        for (const r of last) if (r.ready && !readyAgain.has(rowId(r))) readyAgain.set(rowId(r), at());
        return { missing: missingNow(readyBefore, last).length, finished };
      },
      // The bootstrap gave up (or finished) before: this reading is the last word.
      (s) => s.missing === 0 || s.finished,
      { timeoutMs: o.timeoutMs + 60_000, everyMs: 1_000, ...(o.signal ? { signal: o.signal } : {}) },
    ).catch(() => undefined);
  } finally {
    // Whatever was not Ready before is not the drill's to wait for: the bootstrap stops once the state is back.
    if (exitCode === undefined) boot.child.kill("SIGTERM");
    await boot.exited;
  }
  const interrupted = o.signal?.aborted === true;
  const missing = missingNow(readyBefore, last);
  const back = readyBefore.filter((id) => readyAgain.has(id));
  const rto =
    !interrupted && missing.length === 0 ? Math.max(0, ...back.map((id) => readyAgain.get(id) ?? 0)) : undefined;
  if (rto !== undefined) phases.push({ what: "everything Ready before is Ready again", at: rto });
  return {
    readyBefore,
    phases,
    readyAgain: back.map((id) => ({ id, at: readyAgain.get(id) ?? 0 })),
    missing,
    ...(rto !== undefined ? { rto } : {}),
    ...(interrupted ? { interrupted } : {}),
  };
}
