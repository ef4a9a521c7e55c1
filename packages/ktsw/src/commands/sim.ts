// `ktsw sim up | down | status`: the simulated cluster (src/sim) from the command line. `up` prints progress and
// the kubeconfig to use; `down` stops every process it started; `status` lists nodes, unplaceable pods with the
// scheduler's reason and, once Flux runs in it, every Kustomization and HelmRelease.
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import type { Command } from "commander";
import { capacitySite } from "../capacity/nodes.ts";
import { loadConfig } from "../config/load.ts";
import { issueCertificates } from "../sim/certificates.ts";
import { simDown, simStatus, simUp, stateOf } from "../sim/cluster.ts";
import { simExceptions } from "../sim/exceptions.ts";
import { gatekeeperChart, takeOverChartWebhooks } from "../sim/gatekeeper.ts";
import { simKubectl } from "../sim/kubectl.ts";
import { defaultSimDir, simLayout } from "../sim/layout.ts";
import { agrees, compareWithScheduler, formatAgreement } from "../sim/plan-agreement.ts";
import { localSources, refreshSimSources } from "../sim/sources/index.ts";
import { redirectSources } from "../sim/sources/redirect.ts";
import { serveSources } from "../sim/sources/server.ts";
import { formatStatus } from "../sim/status.ts";
import { provideVolumes } from "../sim/volumes.ts";
import { relaxWebhooks } from "../sim/webhooks.ts";
import { defaultSimBin, MissingTool } from "../tools/find.ts";
import { buildAppliedTree, capacityPlan } from "../validate/index.ts";
import { type BootstrapCliOptions, rootFileOf, runBootstrap, withBootstrapOptions } from "./bootstrap.ts";
import { exitCodes, type GlobalOptions, printFindings, repoRoot, summary } from "./shared.ts";
import { registerDrills } from "./sim-drill.ts";
import { defaultValidateOptions, treeSources } from "./validate.ts";

interface SimOptions {
  dir?: string;
  bin: string;
}

const say = (line: string) => process.stdout.write(`  ${line}\n`);

export function registerSim(program: Command): void {
  const sim = program
    .command("sim")
    .description(
      "a simulated cluster: real etcd, API server, controller manager and scheduler, kwok nodes from ktsw.yaml",
    )
    .option("--dir <folder>", `the sim's state folder (default: ${defaultSimDir} beside ktsw.yaml)`)
    .option("--bin <folder>", "where the sim's programs are built", defaultSimBin);
  const where = () => {
    const o = sim.opts<SimOptions>();
    const config = program.opts<GlobalOptions>().config;
    return { config, dir: resolve(o.dir ?? resolve(repoRoot(config), defaultSimDir)), bin: resolve(o.bin) };
  };

  sim
    .command("up")
    .description("build what is missing, start the control plane and kwok, wait until every node is Ready")
    .option("--no-build", "fail (exit 3) instead of building a missing program")
    .option("--api-port <port>", "the API server's port (default: a free one)")
    .option("--timeout <seconds>", "deadline of each wait", "180")
    .action(async (opts: { build: boolean; apiPort?: string; timeout: string }) => {
      const { config, dir, bin } = where();
      const loaded = await loadConfig(config);
      if (!loaded.config) {
        printFindings(loaded.findings);
        process.exitCode = exitCodes.findings;
        return;
      }
      const apiPort = opts.apiPort === undefined ? undefined : Number(opts.apiPort);
      const timeout = Number(opts.timeout);
      if ((apiPort !== undefined && !(Number.isInteger(apiPort) && apiPort > 0 && apiPort < 65536)) || !(timeout > 0)) {
        process.stderr.write(
          "ktsw sim up: --api-port must be a port number and --timeout a positive number of seconds\n",
        );
        process.exitCode = exitCodes.usage;
        return;
      }
      const t0 = Date.now();
      try {
        const state = await simUp(loaded.config, {
          dir,
          repoRoot: repoRoot(config),
          binFolder: bin,
          build: opts.build,
          ...(apiPort !== undefined ? { apiPort } : {}),
          progress: say,
          timeoutMs: timeout * 1000,
        });
        summary(true, `sim up in ${((Date.now() - t0) / 1000).toFixed(1)} s: API server ${state.apiServer}`);
        process.stdout.write(`kubeconfig: ${state.kubeconfig}\n  export KUBECONFIG=${state.kubeconfig}\n`);
      } catch (err) {
        if (err instanceof MissingTool) throw err; // exit 3 with its message, via cli.ts
        summary(false, `sim up: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = exitCodes.findings;
      }
    });

  sim
    .command("down")
    .description("stop every process of the sim and remove its state folder")
    .action(async () => {
      const { dir } = where();
      try {
        const stopped = await simDown(dir);
        const what = stopped.length > 0 ? `stopped ${stopped.join(", ")}` : "nothing was running";
        summary(true, `sim down: ${what}; ${dir} removed`);
      } catch (err) {
        summary(false, `sim down: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = exitCodes.findings;
      }
    });

  sim
    .command("status")
    .description("nodes, pods the scheduler cannot place (and why), Flux Kustomizations and HelmReleases")
    .option("--format <format>", "text or json", "text")
    .action(async (opts: { format: string }) => {
      if (opts.format !== "text" && opts.format !== "json") {
        process.stderr.write("ktsw sim status: --format must be text or json\n");
        process.exitCode = exitCodes.usage;
        return;
      }
      const { dir, bin } = where();
      const status = await simStatus(dir, bin);
      if (opts.format === "json") process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      else for (const line of formatStatus(status)) process.stdout.write(`${line}\n`);
      process.exitCode = status.running ? exitCodes.ok : exitCodes.findings;
    });

  sim
    .command("plan")
    .description(
      "`ktsw plan`'s capacity plan beside the sim's real scheduler: per workload, the pods each places and what each pod asks for",
    )
    .action(async () => {
      const { config, dir, bin } = where();
      const status = await simStatus(dir, bin);
      const loaded = await loadConfig(config);
      if (!loaded.config) {
        printFindings(loaded.findings);
        process.exitCode = exitCodes.findings;
        return;
      }
      if (!status.running || !status.kubeconfig) {
        summary(false, `sim plan: no sim runs from ${dir} (\`ktsw sim up\` then \`ktsw sim bootstrap\`)`);
        process.exitCode = exitCodes.findings;
        return;
      }
      const tree = await buildAppliedTree(treeSources(repoRoot(config), loaded.config, defaultValidateOptions));
      const plan = capacityPlan(tree, capacitySite(loaded.config));
      const kubectl = simKubectl(bin, status.kubeconfig);
      const list = async (resource: string) => JSON.parse(await kubectl(["get", resource, "-A", "-o", "json"]));
      const readyOwners = new Set(
        status.flux.filter((r) => r.kind === "Kustomization" && r.ready).map((r) => `${r.namespace}/${r.name}`),
      );
      const noRoom = status.pendingPods.filter((p) => /Insufficient|Too many pods/.test(p.message)).length;
      const agreement = compareWithScheduler(
        plan,
        { pods: await list("pods"), replicaSets: await list("replicasets") },
        readyOwners,
        noRoom,
      );
      for (const line of formatAgreement(agreement)) process.stdout.write(`${line}\n`);
      const ok = agrees(agreement);
      summary(ok, ok ? "sim plan: the plan and the scheduler agree" : "sim plan: the plan and the scheduler differ");
      process.exitCode = ok ? exitCodes.ok : exitCodes.findings;
    });

  withBootstrapOptions(
    sim
      .command("bootstrap")
      .description(
        "`ktsw bootstrap` on the sim: a fresh snapshot of the working tree, the root sources pointed at it, then wait until the tree is Ready (webhooks no pod can serve are relaxed, each printed)",
      ),
  ).action(async (opts: BootstrapCliOptions) => {
    const { config, dir, bin } = where();
    const layout = simLayout(dir);
    const state = await stateOf(layout);
    if (!state?.ready || !state.sourcesUrl) {
      summary(false, `sim bootstrap: no sim runs from ${dir} (\`ktsw sim up\` starts one)`);
      process.exitCode = exitCodes.findings;
      return;
    }
    const rootFile = await rootFileOf(config);
    if (!rootFile) {
      process.exitCode = exitCodes.findings;
      return;
    }
    const root = repoRoot(config);
    const snapshot = await refreshSimSources({ repoRoot: root, layout, baseUrl: state.sourcesUrl });
    say(`the tree's snapshot: commit ${snapshot.commit.slice(0, 12)} of ${state.sourcesUrl}`);
    const file = relative(root, rootFile);
    const redirected = redirectSources(
      new Map([[file, readFileSync(rootFile, "utf8")]]),
      localSources(state.sourcesUrl, root),
    );
    const kubectl = simKubectl(bin, state.kubeconfig);
    const loaded = await loadConfig(config);
    if (!loaded.config) return;
    const tree = await buildAppliedTree(treeSources(root, loaded.config, defaultValidateOptions));
    const chart = gatekeeperChart(tree.applied);
    await runBootstrap("sim bootstrap", opts, {
      kubectl,
      binFolder: bin,
      rootFile,
      rootText: redirected.files.get(file) ?? "",
      // Gatekeeper's chart brings its own webhook configurations with each install: the sim's stand-ins replace
      // them; every other webhook a pod would serve is relaxed.
      // cert-manager's controller cannot be built from the Go module proxy: a stand-in issues the tree's
      // Certificates (selfSigned and CA issuers), each one printed.
      // No CSI driver runs on kwok nodes: a stand-in makes the volume Longhorn's provisioner would for each claim,
      // each one printed, and the real PV controller binds it.
      tick: async () => {
        // Webhooks first: a request a dead webhook refuses fails a Kustomization until its next retry.
        await relaxWebhooks(kubectl, say);
        await takeOverChartWebhooks(kubectl, chart, say);
        await issueCertificates(kubectl, say);
        await provideVolumes(kubectl, say);
      },
      exceptions: simExceptions,
    });
  });

  registerDrills(sim, where);

  // Started by `sim up` as one of the sim's processes (sim/sources): not a command a person runs.
  sim
    .command("serve-sources", { hidden: true })
    .description("serve the sim's git repositories and the offline Helm repository on loopback until stopped")
    .requiredOption("--port <port>", "the port on 127.0.0.1")
    .requiredOption("--git <folder>", "the folder of bare git repositories")
    .requiredOption("--charts <folder>", "the offline Helm repository")
    .action(async (opts: { port: string; git: string; charts: string }) => {
      const log = (line: string) => process.stderr.write(`${line}\n`);
      try {
        const server = await serveSources({ port: Number(opts.port), gitRepos: opts.git, charts: opts.charts, log });
        process.stdout.write(`serving ${opts.git} and ${opts.charts} on http://127.0.0.1:${opts.port}\n`);
        const stop = () => {
          server.closeAllConnections();
          server.close(() => process.exit(0));
        };
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      } catch (err) {
        log(`ktsw sim serve-sources: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = exitCodes.findings;
      }
    });
}
