// `ktsw sim drill dr | node-loss`: the seed's recovery promises, tried on the sim (src/sim/drills). Each prints
// its timeline and report; exit 0 when the sim came back whole, else 1 naming what did not.
import { resolve } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../config/load.ts";
import type { KtswConfig } from "../config/schema.ts";
import { Interrupted, interruptible } from "../interrupt.ts";
import { stateOf } from "../sim/cluster.ts";
import { drillBackup } from "../sim/drills/backup.ts";
import { backupPassed, formatBackup } from "../sim/drills/backup-report.ts";
import { drillDr } from "../sim/drills/dr.ts";
import { drPassed, formatDr } from "../sim/drills/dr-report.ts";
import { nodeLoss } from "../sim/drills/node-loss.ts";
import { formatNodeLoss, passed } from "../sim/drills/node-loss-report.ts";
import { simKubectl } from "../sim/kubectl.ts";
import { simLayout } from "../sim/layout.ts";
import { MissingTool } from "../tools/find.ts";
import { type BootstrapCliOptions, withBootstrapOptions } from "./bootstrap.ts";
import { exitCodes, printFindings, repoRoot, summary } from "./shared.ts";

const say = (line: string) => process.stdout.write(`  ${line}\n`);
const print = (lines: readonly string[]) => {
  for (const line of lines) process.stdout.write(`${line}\n`);
};

type Where = () => { config: string; dir: string; bin: string };

/** A positive number of seconds, or undefined (usage error printed, exit code set). */
function seconds(what: string, text: string): number | undefined {
  const n = Number(text);
  if (n > 0) return n;
  process.stderr.write(`ktsw sim drill ${what}: --timeout must be a positive number of seconds\n`);
  process.exitCode = exitCodes.usage;
  return undefined;
}

async function configOf(path: string): Promise<KtswConfig | undefined> {
  const loaded = await loadConfig(path);
  if (!loaded.config) {
    printFindings(loaded.findings);
    process.exitCode = exitCodes.findings;
  }
  return loaded.config;
}

/** Runs a drill; an error (no sim, a wait that broke) is its failure, printed; a missing program exits 3. The first
 *  Ctrl-C aborts the drill's signal: the drill puts back what it changed, reports, and the exit code is 130. */
async function attempt(what: string, drill: (signal: AbortSignal) => Promise<void>): Promise<void> {
  try {
    await interruptible(
      async ({ signal }) => {
        await drill(signal);
        if (signal.aborted) process.exitCode = exitCodes.interrupted;
      },
      (signal) => say(`${signal}: stopping the drill (again to leave at once)`),
    );
  } catch (err) {
    if (err instanceof MissingTool) throw err;
    if (err instanceof Interrupted) {
      summary(false, `sim drill ${what}: ${err.message}`);
      process.exitCode = exitCodes.interrupted;
      return;
    }
    summary(false, `sim drill ${what}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = exitCodes.findings;
  }
}

export function registerDrills(sim: Command, where: Where): void {
  const drill = sim.command("drill").description("recovery drills on a bootstrapped sim: dr, node-loss, backup");

  withBootstrapOptions(
    drill
      .command("dr")
      .description(
        "the cluster dies: wipe the control plane (etcd's data too), start a fresh one, bootstrap again, and time until everything Ready before is Ready again (RTO)",
      ),
  ).action(async (opts: BootstrapCliOptions) => {
    const { config, dir, bin } = where();
    const timeout = seconds("dr", opts.timeout);
    const c = await configOf(config);
    if (timeout === undefined || !c) return;
    await attempt("dr", async (signal) => {
      const report = await drillDr({
        dir,
        config: c,
        configPath: resolve(config),
        repoRoot: repoRoot(config),
        binFolder: bin,
        ageKeyFile: resolve(opts.ageKey),
        timeoutMs: timeout * 1000,
        progress: say,
        signal,
      });
      print(formatDr(report));
      const ok = drPassed(report);
      summary(
        ok,
        ok
          ? `sim drill dr: all ${report.readyBefore.length} restored, RTO ${report.rto?.toFixed(1)} s`
          : report.interrupted
            ? "sim drill dr: interrupted; the fresh sim runs on"
            : `sim drill dr: not restored: ${report.missing.map((m) => m.id).join(", ")}`,
      );
      process.exitCode = ok ? exitCodes.ok : exitCodes.findings;
    });
  });

  drill
    .command("node-loss")
    .description(
      "a VM gone: delete its Node, check its pods are rescheduled on the remaining nodes (within the PodDisruptionBudgets and capacity), report what could not move, then put the node back",
    )
    .option("--node <name>", "the node to lose (default: the worker running the most pods)")
    .option("--timeout <seconds>", "how long the pods may take to be available again", "300")
    .action(async (opts: { node?: string; timeout: string }) => {
      const { config, dir, bin } = where();
      const timeout = seconds("node-loss", opts.timeout);
      const c = await configOf(config);
      if (timeout === undefined || !c) return;
      await attempt("node-loss", async (signal) => {
        const state = await stateOf(simLayout(dir));
        if (!state?.ready) throw new Error(`no sim runs from ${dir} (\`ktsw sim up\` starts one)`);
        const report = await nodeLoss({
          kubectl: simKubectl(bin, state.kubeconfig),
          config: c,
          ...(opts.node !== undefined ? { node: opts.node } : {}),
          progress: say,
          timeoutMs: timeout * 1000,
          signal,
        });
        print(formatNodeLoss(report));
        const ok = passed(report);
        const stuck = report.workloads
          .filter((w) => w.state === "waiting")
          .map((w) => `${w.kind} ${w.namespace}/${w.name}`);
        summary(
          ok,
          ok
            ? `sim drill node-loss: every workload of ${report.node} available again in ${report.seconds?.toFixed(1)} s; ${report.node} restored`
            : report.interrupted
              ? `sim drill node-loss: interrupted; ${report.node} restored`
              : `sim drill node-loss: not whole again without ${report.node}: ${stuck.join(", ")}; ${report.node} restored`,
        );
        process.exitCode = ok ? exitCodes.ok : exitCodes.findings;
      });
    });

  drill
    .command("backup")
    .description(
      "the tree's nightly Velero backup, run now by the real Velero server against a local S3 server; then the namespaces it covers are deleted and restored from it, and every object nobody owns must be back unchanged",
    )
    .option("--namespace <name...>", "the namespaces to back up (default: those of the tree's Velero schedule)")
    .option("--timeout <seconds>", "how long each of backup, deletion and restore may take", "300")
    .action(async (opts: { namespace?: string[]; timeout: string }) => {
      const { dir, bin } = where();
      const timeout = seconds("backup", opts.timeout);
      if (timeout === undefined) return;
      await attempt("backup", async (signal) => {
        const state = await stateOf(simLayout(dir));
        if (!state?.ready) throw new Error(`no sim runs from ${dir} (\`ktsw sim up\` then \`ktsw sim bootstrap\`)`);
        const controllerManagerPort = state.ports.controllerManager;
        if (controllerManagerPort === undefined)
          throw new Error(
            `the sim in ${dir} was started by an older ktsw, without controller manager metrics: \`ktsw sim up\` it again`,
          );
        const report = await drillBackup({
          controllerManagerPort,
          kubectl: simKubectl(bin, state.kubeconfig),
          kubeconfig: state.kubeconfig,
          binFolder: bin,
          ...(opts.namespace ? { namespaces: opts.namespace } : {}),
          progress: say,
          timeoutMs: timeout * 1000,
          signal,
        });
        print(formatBackup(report));
        const ok = backupPassed(report);
        const c = report.comparison;
        summary(
          ok,
          ok
            ? `sim drill backup: ${c?.same.length} objects of ${report.namespaces.join(", ")} restored unchanged`
            : `sim drill backup: not restored whole${c ? ` (${c.missing.length} missing, ${c.changed.length} changed)` : ""}`,
        );
        process.exitCode = ok ? exitCodes.ok : exitCodes.findings;
      });
    });
}
