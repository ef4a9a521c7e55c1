// Prints the wall time of a full `ktsw validate` of the real tree (config + tree + policies), the
// same work CI and `npm start` do. A figure to watch, never asserted (target: under 3 s on 2 cores).
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..");
const runs = Number(process.argv[2] ?? 3);
const times: number[] = [];
const inside: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", "packages/ktsw/src/cli.ts", "validate", "--format", "json"],
    { cwd: repo, stdio: "pipe", encoding: "utf8" },
  );
  times.push((performance.now() - started) / 1000);
  const report = JSON.parse(out) as { seconds: number; timings: Record<string, number> };
  inside.push(report.seconds);
  if (i === runs - 1) console.log(`phases (ms): ${JSON.stringify(report.timings)}`);
}
const sorted = [...times].sort((a, b) => a - b);
console.log(
  `validate (full tree, incl. process start): runs=${runs} min=${sorted[0]?.toFixed(2)} s median=${sorted[Math.floor(runs / 2)]?.toFixed(2)} s; validate itself median=${[...inside].sort((a, b) => a - b)[Math.floor(runs / 2)]?.toFixed(2)} s`,
);
