// Prints, in one run on the same tree and machine, the wall time of a full `ktsw validate` of the
// real tree (config + tree + every HelmRelease rendered from the chart cache + schemas + policies,
// the work CI and `npm start` do) and of flate, the reference offline Flux renderer, rendering the
// same tree from the same chart cache (`flate build all`), each cold (no render cache) and warm,
// and the ratio. A figure to watch, never asserted. `node bench/validate.ts [warm runs]`.
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { findTool } from "../packages/ktsw/src/tools/find.ts";
import { defaultChartsDir, defaultManifestsDir } from "../packages/ktsw/src/validate/index.ts";
import { prepareFlateTree } from "./flate-tree.ts";

const repo = resolve(import.meta.dirname, "..");
const warmRuns = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 2);

interface Timed {
  seconds: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** One run may take this long: flate once spun for minutes on this tree, and a figure then is no figure. */
const RUN_TIMEOUT_MS = 120_000;

/** Runs a program to completion without blocking this process (it serves the charts to flate); one that outlives
 *  RUN_TIMEOUT_MS is killed, and the bench fails saying so. */
function timed(bin: string, args: readonly string[]): Promise<Timed> {
  const started = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(bin, [...args], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${bin} ${args.join(" ")} ran longer than ${RUN_TIMEOUT_MS / 1000} s: killed`));
    }, RUN_TIMEOUT_MS);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("close", (code) => {
      clearTimeout(timer);
      done({
        seconds: (performance.now() - started) / 1000,
        code: code ?? 1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function ktswValidate(): Promise<Timed & { report: { timings: Record<string, number>; notes: string[] } }> {
  // As a person runs it (`npx ktsw`): the launcher, which starts the CLI from its bundle.
  const run = await timed(process.execPath, ["packages/ktsw/bin/ktsw.js", "validate", "--format", "json"]);
  if (run.code !== 0 && !run.stdout.startsWith("{"))
    throw new Error(`ktsw validate failed (exit ${run.code}): ${run.stderr.trim().split("\n").slice(-3).join(" ")}`);
  return { ...run, report: JSON.parse(run.stdout) };
}

// ktsw validate: once with what it keeps between runs emptied (builds, renders, policy results,
// its own bundle), then warm.
for (const kept of [
  "kustomize-builds",
  "substitutions",
  "helm-renders",
  "policy-results",
  "file-digests.json",
  "valid-objects.json",
  "sops-checks",
])
  rmSync(join(repo, ".cache", "ktsw", kept), { recursive: true, force: true });
rmSync(join(repo, "packages", "ktsw", ".cache"), { recursive: true, force: true });
const cold = await ktswValidate();
const warm = [];
for (let i = 0; i < warmRuns; i++) warm.push(await ktswValidate());
const last = warm.at(-1) ?? cold;
console.log(last.report.notes.find((n) => n.startsWith("charts:")) ?? "charts: (no note)");
console.log(`ktsw phases, warm (ms): ${JSON.stringify(last.report.timings)}`);
console.log(`ktsw phases, cold (ms): ${JSON.stringify(cold.report.timings)}`);
const ktswWarm = median(warm.map((w) => w.seconds));
console.log(
  `ktsw validate (whole tree: build, charts rendered, schemas, pins, policies; incl. process start): cold ${cold.seconds.toFixed(2)} s, warm median ${ktswWarm.toFixed(2)} s (${warmRuns} runs)`,
);

const flate = findTool("flate");
const charts = defaultChartsDir(repo);
if (!flate || !charts) {
  console.log(
    `flate: SKIPPED (${!flate ? "flate not installed: bash scripts/install-deps.sh" : "no chart cache at ../shared/charts"})`,
  );
} else {
  const kubeVersion = String(
    (parse(readFileSync(join(repo, "ktsw.yaml"), "utf8")) as { kubernetes?: { k3sVersion?: string } }).kubernetes
      ?.k3sVersion ?? "v1.33.5",
  ).replace(/^v?(\d+\.\d+\.\d+).*/, "$1");
  const tree = await prepareFlateTree(repo, charts, defaultManifestsDir(repo));
  try {
    const args = [
      "build",
      "all",
      "--path",
      tree.path,
      "--cache-dir",
      tree.cacheDir,
      "--kube-version",
      kubeVersion,
      // The Linkerd issuer Secret only cert-manager makes at run time (ktsw uses a placeholder).
      "--allow-missing-secrets",
      "--no-progress",
      "-o",
      "yaml",
    ];
    const flateCold = await timed(flate, args);
    const flateWarm = [];
    for (let i = 0; i < warmRuns; i++) flateWarm.push(await timed(flate, args));
    const objects = (flateCold.stdout.match(/^kind: /gm) ?? []).length;
    const failed =
      flateCold.code === 0
        ? ""
        : `; exit ${flateCold.code}: ${flateCold.stderr.trim().split("\n").slice(-2).join(" ")}`;
    const flateWarmMedian = median(flateWarm.map((w) => w.seconds));
    console.log(
      `flate build all (same tree, charts from the same cache over local HTTP; ${objects} objects, without CRDs and Secrets${failed}): cold ${flateCold.seconds.toFixed(2)} s, warm median ${flateWarmMedian.toFixed(2)} s`,
    );
    console.log(
      `ratio ktsw/flate: cold ${(cold.seconds / flateCold.seconds).toFixed(2)}×, warm ${(ktswWarm / flateWarmMedian).toFixed(2)}× (goal ≤ 1)`,
    );
  } finally {
    await tree.close();
  }
}
