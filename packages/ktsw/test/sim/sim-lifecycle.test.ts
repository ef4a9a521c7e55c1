// Starting and stopping leave nothing behind: `down` stops every recorded process, Ctrl-C during `up` stops what was
// started, a port in use is a clear error. Each test starts its own sim in its own folder.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { poll } from "../../src/lab/net/poll.ts";
import type { SimState } from "../../src/sim/cluster.ts";
import { simLayout } from "../../src/sim/layout.ts";
import { repo } from "../support/cli.ts";
import { simCli, simFolder, simUnavailable, stillRunning, testSim } from "./sim-support.ts";

const why = simUnavailable();
if (why) console.warn(`SKIPPING sim lifecycle tests: ${why}`);

describe.skipIf(why)("sim lifecycle", () => {
  test("down stops every process up recorded and removes the state folder", async () => {
    const sim = testSim(simFolder());
    try {
      const up = await simCli(sim.dir, ["up", "--no-build", "--timeout", "200"]);
      expect(up.code, up.stdout + up.stderr).toBe(0);
      expect(up.stdout).toContain(`kubeconfig: ${simLayout(sim.dir).kubeconfig}`);
      const state = sim.state();
      expect(state.processes.map((p) => p.name)).toEqual([
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "gatekeeper",
        "metallb-controller",
        "sources",
      ]);
      expect(stillRunning(state)).toHaveLength(11);
      const down = await simCli(sim.dir, ["down"]);
      expect(down.code).toBe(0);
      expect(down.stdout).toMatch(
        /stopped etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, source-controller, kustomize-controller, helm-controller, gatekeeper, metallb-controller, sources/,
      );
      expect(stillRunning(state)).toEqual([]);
      expect(existsSync(sim.dir)).toBe(false);
      const after = await simCli(sim.dir, ["status"]);
      expect(after.code).toBe(1);
      expect(after.stdout).toContain(`no sim in ${sim.dir}`);
    } finally {
      await sim.remove();
    }
  }, 300_000);

  test("Ctrl-C during up stops everything it started and removes the folder", async () => {
    const sim = testSim(simFolder());
    const cli = join(repo, "packages/ktsw/src/cli.ts");
    const child = spawn(process.execPath, ["--import", "tsx", cli, "sim", "--dir", sim.dir, "up", "--no-build"], {
      cwd: repo,
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    try {
      // Interrupt once etcd and the API server have been started.
      const state = await poll(
        "up to start two processes",
        async () => sim.state(),
        (s: SimState) => s.processes.length >= 2,
        { timeoutMs: 120_000 },
      );
      child.kill("SIGINT");
      expect(await exited).toBe(130);
      expect(stillRunning(state)).toEqual([]);
      expect(existsSync(sim.dir)).toBe(false);
    } finally {
      child.kill("SIGKILL");
      await sim.remove();
    }
  }, 300_000);

  test("an API server port in use is an error naming the port; nothing is left", async () => {
    const sim = testSim(simFolder());
    const blocker: Server = createServer();
    const port = await new Promise<number>((done) =>
      blocker.listen(0, "127.0.0.1", () => done((blocker.address() as { port: number }).port)),
    );
    try {
      const r = await simCli(sim.dir, ["up", "--no-build", "--api-port", String(port)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`port ${port} (API server) is in use`);
      expect(existsSync(simLayout(sim.dir).state)).toBe(false);
    } finally {
      blocker.close();
      await sim.remove();
    }
  });
});
