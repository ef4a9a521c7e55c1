// Prints the simulated cluster's figures, each the median of 3 (or N) runs: the control plane's start (`ktsw sim up`
// from nothing: certificates, etcd, API server, controller manager, scheduler, kwok, every node of ktsw.yaml Ready,
// Flux, Gatekeeper, the sources server), empty → all Ready (`ktsw sim bootstrap` with the example age key), the
// node-loss drill's reschedule time and the DR drill's recovery time (RTO), then `down`. The programs must be built
// (`bash scripts/build-sim-tools.sh`). Figures to watch against the targets, never asserted.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "../packages/ktsw/src/config/load.ts";
import { simDown, simUp } from "../packages/ktsw/src/sim/cluster.ts";
import { drillDr } from "../packages/ktsw/src/sim/drills/dr.ts";
import { nodeLoss } from "../packages/ktsw/src/sim/drills/node-loss.ts";
import { simKubectl } from "../packages/ktsw/src/sim/kubectl.ts";
import { cliCommand } from "../packages/ktsw/src/sim/sources/index.ts";
import { defaultSimBin } from "../packages/ktsw/src/tools/find.ts";

const repo = resolve(import.meta.dirname, "..");
const configPath = join(repo, "ktsw.yaml");
const ageKeyFile = join(repo, "test-support", "example-age.key");
const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 3);
const { config, findings } = await loadConfig(configPath);
if (!config) throw new Error(`ktsw.yaml does not load: ${JSON.stringify(findings)}`);
const bootstrapTimeoutS = 900;

const figures = {
  start: [] as number[],
  allReady: [] as number[],
  reschedule: [] as number[],
  rto: [] as number[],
};
const shortfalls: string[] = [];
const since = (t0: number) => (performance.now() - t0) / 1000;

for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), "ktsw-sim-bench-"));
  try {
    let t0 = performance.now();
    const state = await simUp(config, {
      dir,
      repoRoot: repo,
      binFolder: defaultSimBin,
      build: false,
      progress: () => {},
    });
    figures.start.push(since(t0));

    // The bootstrap as a user runs it (the CLI process, its start included).
    t0 = performance.now();
    const cli = cliCommand();
    const boot = spawnSync(
      cli.bin,
      [...cli.args, "--config", configPath, "sim", "--dir", dir, "--bin", defaultSimBin, "bootstrap"].concat([
        "--age-key",
        ageKeyFile,
        "--timeout",
        String(bootstrapTimeoutS),
      ]),
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
    if (boot.status === 0) figures.allReady.push(since(t0));
    else shortfalls.push(`run ${i + 1}: the tree was not all Ready within ${bootstrapTimeoutS} s`);

    const loss = await nodeLoss({
      kubectl: simKubectl(defaultSimBin, state.kubeconfig),
      config,
      progress: () => {},
      timeoutMs: 300_000,
    });
    // Settled: every workload of the lost node moved, or the scheduler named why it cannot (on the example site,
    // the HA replicas that must sit on another worker than the one left).
    if (loss.settledSeconds !== undefined) figures.reschedule.push(loss.settledSeconds);
    else shortfalls.push(`run ${i + 1}: node-loss of ${loss.node}: not settled within the deadline`);
    if (loss.seconds === undefined) {
      const short = loss.workloads
        .filter((w) => w.state === "waiting")
        .map((w) => `${w.kind} ${w.namespace}/${w.name}`);
      shortfalls.push(`run ${i + 1}: node-loss of ${loss.node}: not whole again without it: ${short.join(", ")}`);
    }

    const dr = await drillDr({
      dir,
      config,
      configPath,
      repoRoot: repo,
      binFolder: defaultSimBin,
      ageKeyFile,
      timeoutMs: bootstrapTimeoutS * 1000,
      progress: () => {},
    });
    if (dr.rto !== undefined) figures.rto.push(dr.rto);
    else shortfalls.push(`run ${i + 1}: dr: not restored: ${dr.missing.map((m) => m.id).join(", ")}`);
    console.log(
      `run ${i + 1}: start ${figures.start.at(-1)?.toFixed(1)} s, bootstrap exit ${boot.status}, node-loss settled ${loss.settledSeconds?.toFixed(1) ?? "-"} s (whole ${loss.seconds?.toFixed(1) ?? "-"} s), RTO ${dr.rto?.toFixed(1) ?? "-"} s`,
    );
  } finally {
    await simDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const line = (what: string, xs: readonly number[], targetS?: number) => {
  const m = median(xs);
  const target =
    targetS === undefined || m === undefined
      ? ""
      : `; target < ${targetS / 60} min: ${m < targetS ? "met" : "NOT met"}`;
  return `${what}: runs=${xs.length}/${runs} median=${m === undefined ? "-" : `${m.toFixed(1)} s`}${target}`;
};
console.log(line(`sim control plane start (${config.nodes.length} nodes, Flux, Gatekeeper, sources)`, figures.start));
console.log(line("empty → every Kustomization and HelmRelease Ready (sim bootstrap)", figures.allReady, 300));
console.log(
  line("node-loss: the busiest worker's workloads moved (or named Unschedulable by the scheduler)", figures.reschedule),
);
console.log(line("DR RTO: wipe → everything Ready before is Ready again", figures.rto, 180));
for (const s of shortfalls) console.log(`  ${s}`);
