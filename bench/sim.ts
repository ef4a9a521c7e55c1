// Prints how long the simulated cluster's control plane takes to start: `ktsw sim up` from nothing (certificates,
// etcd, API server ready, controller manager ready, scheduler, kwok, every node of ktsw.yaml Ready) until it
// returns, then `down`. The programs must be built (`bash scripts/build-sim-tools.sh`). Median of 3 (or N).
// A figure to watch, never asserted.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "../packages/ktsw/src/config/load.ts";
import { simDown, simUp } from "../packages/ktsw/src/sim/cluster.ts";
import { defaultSimBin } from "../packages/ktsw/src/tools/find.ts";

const repo = resolve(import.meta.dirname, "..");
const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 3);
const { config, findings } = await loadConfig(join(repo, "ktsw.yaml"));
if (!config) throw new Error(`ktsw.yaml does not load: ${JSON.stringify(findings)}`);

const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), "ktsw-sim-bench-"));
  try {
    const started = performance.now();
    await simUp(config, { dir, repoRoot: repo, binFolder: defaultSimBin, build: false, progress: () => {} });
    times.push((performance.now() - started) / 1000);
    console.log(`run ${i + 1}: control plane + ${config.nodes.length} nodes Ready in ${times.at(-1)?.toFixed(1)} s`);
  } finally {
    await simDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
const sorted = [...times].sort((a, b) => a - b);
console.log(
  `sim control plane start (etcd → API server → controller manager → scheduler → kwok, ${config.nodes.length} nodes Ready): runs=${runs} min=${sorted[0]?.toFixed(1)} s median=${sorted[Math.floor(runs / 2)]?.toFixed(1)} s`,
);
