// The recovery drills on one bootstrapped sim (a bootstrap is minutes of CPU, so the drills share it; each leaves
// the sim whole, so they pass in any order): node-loss deletes a worker's Node, its Deployments and StatefulSets
// come back on the remaining nodes and the Node is put back; dr wipes the control plane and everything Ready
// before is Ready again after a fresh bootstrap, with the recovery time printed; backup runs the real Velero.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readFlux, rowId } from "../../src/bootstrap/run.ts";
import { nodeRows } from "../../src/sim/status.ts";
import { simTools } from "../../src/tools/catalog.ts";
import { type CliResult, repo } from "../support/cli.ts";
import { simCli, simFolder, simUnavailable, type TestSim, testSim } from "./sim-support.ts";

const why = simUnavailable(simTools);
if (why) console.warn(`SKIPPING the sim drill tests: ${why}`);

const exampleKey = join(repo, "test-support", "example-age.key");
/** The drills start from the whole tree bootstrapped (all Ready but the reviewed exceptions). */
const bootstrapSeconds = "900";
const shown = (r: CliResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
const layers = ["Kustomization flux-system/networking", "Kustomization flux-system/security"];

describe.skipIf(why)("the recovery drills on a bootstrapped sim", () => {
  let sim: TestSim;
  beforeAll(async () => {
    sim = testSim(simFolder());
    const up = await simCli(sim.dir, ["up", "--no-build", "--timeout", "200"]);
    if (up.code !== 0) throw new Error(`sim up failed:\n${shown(up)}`);
    const boot = await simCli(sim.dir, ["bootstrap", "--age-key", exampleKey, "--timeout", bootstrapSeconds]);
    if (boot.code !== 0) throw new Error(`the bootstrap did not finish:\n${shown(boot)}`);
    const ready = new Set((await readFlux(sim.kubectl)).filter((r) => r.ready).map(rowId));
    const missing = layers.filter((l) => !ready.has(l));
    if (missing.length > 0) throw new Error(`${missing.join(", ")} not Ready after the bootstrap:\n${shown(boot)}`);
  }, 1_200_000);
  afterAll(async () => {
    await sim?.remove();
  });

  test("node-loss: the lost worker's workloads move, but the reviewed HA ones that need two workers; the node comes back", async () => {
    const r = await simCli(sim.dir, ["drill", "node-loss", "--timeout", "300"]);
    // A finding, reviewed: with two workers (the control planes are tainted), losing one leaves the workloads whose
    // replicas must sit on different nodes (required anti-affinity, DoNotSchedule spread) a replica short until the
    // node returns. They stay available, within their PodDisruptionBudgets; the drill says so and exits 1.
    expect(r.code, shown(r)).toBe(1);
    expect(r.stdout).toMatch(/node worker-\d lost: \d+ workloads had pods on it/);
    expect(r.stdout).toMatch(/Deployment \S+ \(\d+ pods? lost\): ✓ rescheduled on the remaining nodes/);
    const notWhole = [...r.stdout.matchAll(/Deployment (\S+) \(\d+ pods? lost\): ✗ NOT whole again/g)].map((m) => m[1]);
    const needTwoWorkers = [
      "linkerd/linkerd-destination",
      "linkerd/linkerd-identity",
      "linkerd/linkerd-proxy-injector",
      "traefik/traefik",
    ];
    expect(
      notWhole.filter((w) => !needTwoWorkers.includes(w ?? "")),
      shown(r),
    ).toEqual([]);
    const pending = r.stdout.split("\n").filter((l) => /^\s+Pending /.test(l));
    expect(pending.length).toBeGreaterThan(0);
    for (const line of pending) expect(line).toMatch(/anti-affinity|topology spread/);
    // Each budget over the lost pods is weighed; which ones a loss exceeds depends on where the replicas happened to
    // run (Gatekeeper's, with one disruption allowed at most, when two of its pods shared the node).
    expect(r.stdout).toMatch(/PodDisruptionBudget \S+: lost \d+, allowed \d+: (within budget|EXCEEDS its budget)/);
    const nodes = nodeRows(JSON.parse(await sim.kubectl(["get", "nodes", "-o", "json"])));
    expect(nodes.map((n) => [n.name, n.ready])).toEqual([
      ["cp-1", true],
      ["cp-2", true],
      ["cp-3", true],
      ["worker-1", true],
      ["worker-2", true],
    ]);
  }, 900_000);

  test("node-loss of a node the sim does not have is an error naming the nodes it has", async () => {
    const r = await simCli(sim.dir, ["drill", "node-loss", "--node", "worker-9"]);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stdout).toContain("no node worker-9 in the sim (nodes: cp-1, cp-2, cp-3, worker-1, worker-2)");
  }, 120_000);

  test("dr: after the control plane is wiped and bootstrapped again, everything Ready before is Ready again", async () => {
    const before = (await readFlux(sim.kubectl)).filter((r) => r.ready).map(rowId);
    const r = await simCli(sim.dir, ["drill", "dr", "--age-key", exampleKey, "--timeout", "600"]);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain("control plane wiped");
    expect(r.stdout).toMatch(/RTO: everything Ready before is Ready again [\d.]+ s after the wipe/);
    const after = new Set((await readFlux(sim.kubectl)).filter((x) => x.ready).map(rowId));
    expect(before.filter((id) => !after.has(id))).toEqual([]);
  }, 1_200_000);

  test("backup: the real Velero backs up the schedule's namespaces, they are deleted, and the restore brings every declared object back unchanged", async () => {
    const r = await simCli(sim.dir, ["drill", "backup", "--timeout", "300"]);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain("namespaces task-processor (the tree's schedule velero/");
    expect(r.stdout).toMatch(/backup: Completed, \d+ items/);
    expect(r.stdout).toMatch(/restore: Completed, \d+ items/);
    expect(r.stdout).toMatch(/\d+ declared objects back unchanged/);
    // The sim is left whole: Flux runs the app's Kustomization again, and nothing of the drill's stays in `velero`.
    const ks = JSON.parse(
      await sim.kubectl([
        "get",
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "task-processor",
        "-n",
        "flux-system",
        "-o",
        "json",
      ]),
    );
    expect(ks.spec.suspend ?? false).toBe(false);
    const kinds = "restores.velero.io,backups.velero.io,backupstoragelocations.velero.io,secrets";
    expect(await sim.kubectl(["get", kinds, "-n", "velero", "-l", "ktsw.dev/drill=backup", "-o", "name"])).toBe("");
  }, 1_200_000);
});
