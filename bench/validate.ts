// Prints the wall time of a full `ktsw validate` of the real tree (config + tree + every HelmRelease
// rendered from the chart cache + policies), the same work CI and `npm start` do. The first run
// renders every chart; later runs read unchanged renders back from .cache/ktsw/helm-renders, so
// `--cold` clears that cache before each run. A figure to watch, never asserted.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..");
const cold = process.argv.includes("--cold");
const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 3);
const times: number[] = [];
const inside: number[] = [];
let charts = "";
for (let i = 0; i < runs; i++) {
  if (cold) rmSync(join(repo, ".cache", "ktsw", "helm-renders"), { recursive: true, force: true });
  const started = performance.now();
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", "packages/ktsw/src/cli.ts", "validate", "--format", "json"],
    { cwd: repo, stdio: "pipe", encoding: "utf8" },
  );
  times.push((performance.now() - started) / 1000);
  const report = JSON.parse(out) as { seconds: number; timings: Record<string, number>; notes: string[] };
  inside.push(report.seconds);
  charts = report.notes.find((n) => n.startsWith("charts:")) ?? "charts: (no note)";
  if (i === runs - 1) console.log(`phases (ms): ${JSON.stringify(report.timings)}`);
}
const sorted = [...times].sort((a, b) => a - b);
console.log(charts);
console.log(
  `validate (full tree, charts rendered${cold ? " cold, no render cache" : ", render cache warm after run 1"}, incl. process start): runs=${runs} min=${sorted[0]?.toFixed(2)} s median=${sorted[Math.floor(runs / 2)]?.toFixed(2)} s; validate itself median=${[...inside].sort((a, b) => a - b)[Math.floor(runs / 2)]?.toFixed(2)} s`,
);
