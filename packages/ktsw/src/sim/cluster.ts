// `ktsw sim up | down | status` as functions: start the control plane in order, each step waited for with a
// deadline; stop all of it; read what runs. Everything lives in one state folder (layout.ts). A failed or
// interrupted `up` stops what it started and removes the folder: nothing is left running or half-written.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { defaultValidateOptions, treeSources } from "../commands/validate.ts";
import type { KtswConfig } from "../config/schema.ts";
import { controlPlanePolicyFiles, policyFileContent } from "../render/nodes/control-plane-policies.ts";
import { type SimClusterToolName, simClusterTools } from "../tools/catalog.ts";
import { depsFolder } from "../tools/deps.ts";
import { MissingTool, missingSimTools, requireSimTool, simBuildStep, simToolVersion } from "../tools/find.ts";
import { buildAppliedTree } from "../validate/index.ts";
import { makeCerts } from "./certs.ts";
import { adminKubeconfig, apiServerUrl, controlPlane, firstServiceIp, type SimPorts } from "./control-plane.ts";
import { type FluxPorts, fluxProcesses, fluxReadyz } from "./flux.ts";
import { installFluxCrds } from "./flux-crds.ts";
import { gatekeeperChart, gatekeeperPorts, startGatekeeper } from "./gatekeeper.ts";
import { simKubectl } from "./kubectl.ts";
import { type SimLayout, simLayout } from "./layout.ts";
import { metallbChart, startMetallbController } from "./metallb.ts";
import { kwokNodes } from "./nodes.ts";
import { checkPortFree, freePort } from "./ports.ts";
import { isRunning, logTail, type Started, startDetached, stopAll, waitReady } from "./processes.ts";
import { startSimSources } from "./sources/index.ts";
import { type FluxRow, fluxRows, nodeRows, pendingPods, type SimStatus } from "./status.ts";

export interface SimState {
  /** False while `up` is still starting things: `down` stops a half-started sim too. */
  ready: boolean;
  apiServer: string;
  kubeconfig: string;
  ports: SimPorts;
  flux: FluxPorts;
  /** The sources server (the tree's snapshot, the offline upstream copies and Helm repository). */
  sourcesUrl?: string;
  processes: Started[];
}

export type Progress = (line: string) => void;

export interface UpOptions {
  dir: string;
  /** The repository whose `kubernetes/` tree the sim serves to Flux. */
  repoRoot: string;
  binFolder: string;
  /** Build missing programs first (else a missing one is a MissingTool). */
  build: boolean;
  /** A fixed API server port instead of a free one. */
  apiPort?: number;
  progress: Progress;
  /** Deadline for each wait (API ready, controllers ready, nodes Ready). */
  timeoutMs?: number;
}

export const stateOf = async (layout: SimLayout): Promise<SimState | undefined> =>
  existsSync(layout.state) ? (JSON.parse(await readFile(layout.state, "utf8")) as SimState) : undefined;

const writeState = (layout: SimLayout, state: SimState) =>
  writeFile(layout.state, `${JSON.stringify(state, null, 2)}\n`);

/** Runs scripts/build-sim-tools.sh for the missing programs, its progress lines passed on. */
async function buildSimTools(
  names: readonly SimClusterToolName[],
  binFolder: string,
  progress: Progress,
): Promise<void> {
  const script = join(depsFolder, "..", "scripts", "build-sim-tools.sh");
  const child = spawn("bash", [script, "--out", binFolder, ...names], { stdio: ["ignore", "pipe", "pipe"] });
  let errors = "";
  child.stderr.on("data", (b: Buffer) => {
    errors = (errors + b.toString()).slice(-2_000);
  });
  const lines = createInterface({ input: child.stdout });
  lines.on("line", progress);
  const code = await new Promise<number>((done) => child.once("close", (c) => done(c ?? 1)));
  const [first] = names;
  if (code !== 0 && first) {
    const why = errors.trim() || `exit code ${code}`;
    throw new MissingTool(
      first,
      undefined,
      `building ${names.join(", ")} failed: ${why}\nbuild step: ${simBuildStep(binFolder)}`,
    );
  }
}

/** The folder is removed on down or failure: it must be a sim's own (or new, or empty), never a user's folder. */
async function checkOwnFolder(layout: SimLayout): Promise<void> {
  if (existsSync(layout.dir) && !existsSync(layout.state) && (await readdir(layout.dir)).length > 0) {
    throw new Error(`${layout.dir} is not empty and holds no sim: pick a new or empty folder for --dir`);
  }
}

export async function simUp(c: KtswConfig, o: UpOptions): Promise<SimState> {
  const layout = simLayout(o.dir);
  const timeoutMs = o.timeoutMs ?? 180_000;
  await checkOwnFolder(layout);
  const previous = await stateOf(layout);
  if (previous?.processes.some(isRunning)) {
    throw new Error(`a sim already runs from ${o.dir} (\`ktsw sim down\` stops it)`);
  }
  const missing = missingSimTools(simClusterTools, o.binFolder);
  if (missing.length > 0 && o.build) {
    o.progress(`building ${missing.join(", ")} (once; later runs reuse ${o.binFolder})`);
    await buildSimTools(missing, o.binFolder, o.progress);
  }
  const bins = Object.fromEntries(simClusterTools.map((t) => [t, requireSimTool(t, o.binFolder)])) as Record<
    SimClusterToolName,
    string
  >;

  const ports: SimPorts = {
    apiServer: o.apiPort !== undefined ? await checkPortFree(o.apiPort, "API server") : await freePort(),
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    controllerManager: await freePort(),
  };
  const flux: FluxPorts = {
    artifacts: await freePort(),
    health: {
      "source-controller": await freePort(),
      "kustomize-controller": await freePort(),
      "helm-controller": await freePort(),
    },
  };
  await rm(o.dir, { recursive: true, force: true });
  await mkdir(layout.logs, { recursive: true });
  const started: Started[] = [];
  const state: SimState = {
    ready: false,
    apiServer: apiServerUrl(ports),
    kubeconfig: layout.kubeconfig,
    ports,
    flux,
    processes: started,
  };
  // Ctrl-C (or a kill) while starting: stop what was started, remove the folder, exit as interrupted.
  let stopping: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    o.progress(`${signal}: stopping what was started`);
    stopping = stopAll(started)
      .then(() => rm(o.dir, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await writeState(layout, state);
    for (const policy of controlPlanePolicyFiles) {
      const file = policy.repoName === "audit-policy.yaml" ? layout.auditPolicy : layout.admissionConfig;
      await writeFile(file, policyFileContent(policy));
    }
    const certs = await makeCerts(layout.certs, firstServiceIp(c.kubernetes.serviceCidr));
    const pem = async (f: string) => readFile(f, "utf8");
    await writeFile(
      layout.kubeconfig,
      adminKubeconfig(state.apiServer, {
        ca: await pem(certs.caCert),
        cert: await pem(certs.adminCert),
        key: await pem(certs.adminKey),
      }),
      { mode: 0o600 },
    );
    const kubectl = simKubectl(o.binFolder, layout.kubeconfig);
    const readiness: Partial<Record<SimClusterToolName, [string, () => Promise<boolean>]>> = {
      etcd: [
        "etcd to report healthy",
        async () => (await (await fetch(`http://127.0.0.1:${ports.etcdClient}/health`)).json()).health === "true",
      ],
      "kube-apiserver": [
        "the API server to be ready",
        async () => (await kubectl(["get", "--raw", "/readyz"])).trim() === "ok",
      ],
      // The service-account controller runs: pods can be created (every pod needs its namespace's `default`).
      "kube-controller-manager": [
        "the controller manager to create the default ServiceAccount",
        async () => (await kubectl(["get", "serviceaccount", "default", "-n", "default", "-o", "name"])).trim() !== "",
      ],
    };
    for (const component of controlPlane(c, ports, layout, certs)) {
      const t0 = Date.now();
      const p = startDetached(component.name, bins[component.name], component.args, layout.logs);
      started.push(p);
      await writeState(layout, state);
      const check = readiness[component.name];
      if (check) await waitReady(p, check[0], check[1], timeoutMs);
      o.progress(
        `${component.name} ${simToolVersion(component.name)} started${check ? ` and ready in ${((Date.now() - t0) / 1000).toFixed(1)} s` : ""} (pid ${p.pid})`,
      );
    }
    const nodes = kwokNodes(c, simToolVersion("kube-apiserver"));
    await writeFile(layout.nodes, `${JSON.stringify({ apiVersion: "v1", kind: "List", items: nodes }, null, 2)}\n`);
    await kubectl(["create", "-f", layout.nodes]);
    const kwok = started.find((p) => p.name === "kwok") as Started;
    // Ready, and the node lifecycle controller has lifted its not-ready taint: schedulable as the VM would be.
    const isLifecycleTaint = (taint: string) => taint.startsWith("node.kubernetes.io/");
    let seen = -1;
    await waitReady(
      kwok,
      `all ${nodes.length} nodes to be Ready and untainted by the node lifecycle controller`,
      async () => {
        const rows = nodeRows(JSON.parse(await kubectl(["get", "nodes", "-o", "json"])));
        const ready = rows.filter((n) => n.ready && !n.taints.some(isLifecycleTaint)).length;
        if (ready !== seen) o.progress(`nodes Ready: ${ready}/${nodes.length}`);
        seen = ready;
        return ready === nodes.length;
      },
      timeoutMs,
    );
    // Flux: its CRDs first (a controller whose kinds the API server does not know cannot start its watches), then
    // the three controllers, each waited for on its readiness endpoint.
    await installFluxCrds(kubectl, o.binFolder);
    await mkdir(layout.fluxArtifacts, { recursive: true });
    await mkdir(layout.fluxTmp, { recursive: true });
    for (const f of fluxProcesses(flux, layout)) {
      const t0 = Date.now();
      const p = startDetached(f.name, bins[f.name], f.args, layout.logs, f.env);
      started.push(p);
      await writeState(layout, state);
      await waitReady(p, `${f.name} to be ready`, async () => (await fetch(fluxReadyz(flux, f.name))).ok, timeoutMs);
      o.progress(
        `${f.name} ${simToolVersion(f.name)} started and ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${p.pid})`,
      );
    }
    // Gatekeeper's manager, a real webhook for the tree's constraints, configured from the chart as the tree renders
    // it (the render cache makes this quick after the first `ktsw validate`).
    const tree = await buildAppliedTree(treeSources(o.repoRoot, c, defaultValidateOptions));
    const gatekeeper = await startGatekeeper({
      layout,
      bin: bins.gatekeeper,
      kubectl,
      certs,
      ports: await gatekeeperPorts(),
      chart: gatekeeperChart(tree.applied),
      progress: o.progress,
      timeoutMs,
    });
    started.push(gatekeeper);
    await writeState(layout, state);
    started.push(
      await startMetallbController({
        layout,
        bin: bins["metallb-controller"],
        kubectl,
        chart: metallbChart(tree.applied),
        metricsPort: await freePort(),
        progress: o.progress,
        timeoutMs,
      }),
    );
    await writeState(layout, state);

    // The sources Flux fetches from: the tree's snapshot and the charts, on loopback, each redirection printed.
    const sources = await startSimSources({
      repoRoot: o.repoRoot,
      layout,
      progress: o.progress,
      timeoutMs,
      onStart: async (p) => {
        started.push(p);
        await writeState(layout, state);
      },
    });
    state.sourcesUrl = sources.baseUrl;
    const stopped = started.filter((p) => !isRunning(p));
    if (stopped.length > 0) {
      throw new Error(
        `${stopped.map((p) => p.name).join(", ")} stopped while the sim came up:\n${stopped.map((p) => `${p.log}:\n${logTail(p.log)}`).join("\n")}`,
      );
    }
    state.ready = true;
    await writeState(layout, state);
    return state;
  } catch (err) {
    // Interrupted: the steps fail as their processes stop; the signal's cleanup ends the process (exit 130).
    if (stopping) await stopping;
    await stopAll(started);
    await rm(o.dir, { recursive: true, force: true });
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Stops every process of the sim in `dir` and removes the folder; the names of what was stopped. */
export async function simDown(dir: string): Promise<string[]> {
  const layout = simLayout(dir);
  await checkOwnFolder(layout);
  const state = await stateOf(layout);
  const running = (state?.processes ?? []).filter(isRunning).map((p) => p.name);
  await stopAll(state?.processes ?? []);
  await rm(dir, { recursive: true, force: true });
  return running;
}

const fluxKinds = [
  { kind: "Kustomization", crd: "kustomizations.kustomize.toolkit.fluxcd.io" },
  { kind: "HelmRelease", crd: "helmreleases.helm.toolkit.fluxcd.io" },
];

export async function simStatus(dir: string, binFolder: string): Promise<SimStatus> {
  const layout = simLayout(dir);
  const state = await stateOf(layout);
  const processes = (state?.processes ?? []).map((p) => ({ name: p.name, pid: p.pid, running: isRunning(p) }));
  const base: SimStatus = {
    running: !!state?.ready && processes.every((p) => p.running),
    dir,
    ...(state ? { kubeconfig: state.kubeconfig, apiServer: state.apiServer } : {}),
    processes,
    nodes: [],
    pendingPods: [],
    flux: [],
  };
  if (!state || !base.running) return base;
  const kubectl = simKubectl(binFolder, state.kubeconfig);
  const json = async (args: string[]) => JSON.parse(await kubectl([...args, "-o", "json"]));
  const crds = new Set((await kubectl(["get", "crd", "-o", "name"])).split("\n").map((l) => l.replace(/^.*\//, "")));
  const flux: FluxRow[] = [];
  for (const f of fluxKinds) if (crds.has(f.crd)) flux.push(...fluxRows(f.kind, await json(["get", f.crd, "-A"])));
  return {
    ...base,
    nodes: nodeRows(await json(["get", "nodes"])),
    pendingPods: pendingPods(await json(["get", "pods", "-A"])),
    flux,
  };
}
