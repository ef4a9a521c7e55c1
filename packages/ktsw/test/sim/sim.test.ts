// The simulated cluster with the repository's ktsw.yaml: real etcd, API server, controller manager and scheduler,
// kwok nodes sized from the VMs. One sim for the file (starting one is the slow part).
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { poll } from "../../src/lab/net/poll.ts";
import type { SimStatus } from "../../src/sim/status.ts";
import { provideVolumes } from "../../src/sim/volumes.ts";
import { cli, repo } from "../support/cli.ts";
import { simCli, simFolder, simUnavailable, type TestSim, testSim } from "./sim-support.ts";

const why = simUnavailable();
if (why) console.warn(`SKIPPING sim tests: ${why}`);

const status = async (sim: TestSim): Promise<SimStatus> => {
  const r = await simCli(sim.dir, ["status", "--format", "json"]);
  return JSON.parse(r.stdout) as SimStatus;
};

describe.skipIf(why)("a sim of the site", () => {
  let sim: TestSim;
  beforeAll(async () => {
    sim = testSim(simFolder());
    const r = await simCli(sim.dir, ["up", "--no-build", "--timeout", "200"]);
    if (r.code !== 0) throw new Error(`sim up failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  }, 300_000);
  afterAll(async () => {
    await sim?.remove();
  });

  test("every VM of ktsw.yaml is a Ready node with its size, role labels and taint", async () => {
    const { config } = await loadConfig(`${repo}/ktsw.yaml`);
    if (!config) throw new Error("ktsw.yaml does not load");
    const s = await status(sim);
    expect(s.running).toBe(true);
    expect(s.nodes.map((n) => n.name).sort()).toEqual(config.nodes.map((n) => n.name).sort());
    for (const vm of config.nodes) {
      const node = s.nodes.find((n) => n.name === vm.name);
      expect(node?.ready, vm.name).toBe(true);
      expect(node?.allocatable, vm.name).toEqual({
        cpu: String(vm.cores),
        memory: `${vm.memory - 100}Mi`,
        pods: "110",
      });
      const server = vm.role === "control-plane";
      expect(node?.roles, vm.name).toEqual(server ? ["control-plane", "etcd", "master"] : []);
      expect(node?.taints, vm.name).toEqual(server ? ["node-role.kubernetes.io/control-plane:NoSchedule"] : []);
    }
  });

  test("the API server reports the pinned release, not v0.0.0-master (charts' kubeVersion checks read it)", async () => {
    const version = JSON.parse(await sim.kubectl(["version", "-o", "json"])) as {
      serverVersion: { gitVersion: string };
    };
    expect(version.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
  });

  test("a Deployment's pods are scheduled onto the worker nodes and Running", async () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "default" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [
              { name: "web", image: "nginx:1.27", resources: { requests: { cpu: "100m", memory: "64Mi" } } },
            ],
          },
        },
      },
    };
    await sim.kubectl(["apply", "-f", "-"], JSON.stringify(deployment));
    try {
      type Pods = { items: { spec: { nodeName?: string }; status: { phase: string } }[] };
      const pods = async () =>
        JSON.parse(await sim.kubectl(["get", "pods", "-n", "default", "-l", "app=web", "-o", "json"])) as Pods;
      await expect
        .poll(async () => (await pods()).items.filter((p) => p.status.phase === "Running").length, {
          timeout: 60_000,
          interval: 500,
        })
        .toBe(3);
      const nodes = (await pods()).items.map((p) => p.spec.nodeName);
      expect(
        nodes.every((n) => n?.startsWith("worker-")),
        String(nodes),
      ).toBe(true);
    } finally {
      await sim.kubectl(["delete", "deployment", "web", "-n", "default", "--wait=false"]);
    }
  });

  test("a pod that fits on no node stays Pending and status names it with the scheduler's reason", async () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "too-big", namespace: "default" },
      spec: { containers: [{ name: "big", image: "busybox:1.37", resources: { requests: { memory: "512Gi" } } }] },
    };
    await sim.kubectl(["apply", "-f", "-"], JSON.stringify(pod));
    try {
      const pending = async () => (await status(sim)).pendingPods.find((p) => p.name === "too-big");
      await expect
        .poll(async () => (await pending())?.reason, { timeout: 60_000, interval: 500 })
        .toBe("Unschedulable");
      expect((await pending())?.message).toMatch(/Insufficient memory/);
      const text = await simCli(sim.dir, ["status"]);
      expect(text.stdout).toMatch(/default\/too-big: Unschedulable: 0\/5 nodes are available/);
    } finally {
      await sim.kubectl(["delete", "pod", "too-big", "-n", "default", "--wait=false"]);
    }
  });

  test("Ctrl-C during the node-loss drill puts the node back, says so, and exits 130", async () => {
    // A pod that can only run on worker-1 keeps the drill waiting (its replacement stays Pending without the node).
    const pinned = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "pinned", namespace: "default" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "pinned" } },
        template: {
          metadata: { labels: { app: "pinned" } },
          spec: {
            nodeSelector: { "kubernetes.io/hostname": "worker-1" },
            containers: [{ name: "c", image: "nginx:1.27", resources: { requests: { cpu: "10m", memory: "16Mi" } } }],
          },
        },
      },
    };
    await sim.kubectl(["apply", "-f", "-"], JSON.stringify(pinned));
    let child: ReturnType<typeof spawn> | undefined;
    try {
      // The drill sees the pod on worker-1 only once it is bound there.
      await expect.poll(pinnedNode, { timeout: 60_000, interval: 500 }).toBe("worker-1");
      const drill = ["sim", "--dir", sim.dir, "drill", "node-loss", "--node", "worker-1", "--timeout", "600"];
      const running = spawn(process.execPath, ["--import", "tsx", cli, ...drill], {
        cwd: repo,
        env: { ...process.env, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = running;
      let output = "";
      for (const stream of [running.stdout, running.stderr]) stream.on("data", (chunk) => (output += chunk));
      const exited = new Promise<number | null>((done) => running.once("close", (code) => done(code)));
      await poll(
        "the drill to have deleted worker-1",
        async () => JSON.parse(await sim.kubectl(["get", "nodes", "-o", "json"])) as { items: Named[] },
        (nodes) => !nodes.items.some((n) => n.metadata.name === "worker-1"),
        { timeoutMs: 120_000, everyMs: 250 },
      );
      running.kill("SIGINT");
      expect(await exited, output).toBe(130);
      expect(output).toContain("SIGINT: stopping the drill");
      expect(output).toContain("interrupted before every workload was available again");
      expect(output).toContain("✗ sim drill node-loss: interrupted; worker-1 restored");
      const node = (await status(sim)).nodes.find((n) => n.name === "worker-1");
      expect(node?.ready, output).toBe(true);
    } finally {
      child?.kill("SIGKILL");
      await sim.kubectl(["delete", "deployment", "pinned", "-n", "default", "--wait=false"]);
    }

    async function pinnedNode() {
      const pods = JSON.parse(await sim.kubectl(["get", "pods", "-n", "default", "-l", "app=pinned", "-o", "json"]));
      return (pods as { items: { spec: { nodeName?: string } }[] }).items[0]?.spec.nodeName;
    }
  }, 300_000);

  test("a claim of a Longhorn class is bound to the stand-in's volume by the real PV controller; its pod runs", async () => {
    const objects = [
      {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "longhorn-test" },
        provisioner: "driver.longhorn.io",
        reclaimPolicy: "Delete",
      },
      {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "data", namespace: "default" },
        spec: {
          storageClassName: "longhorn-test",
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: "1Gi" } },
        },
      },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "with-volume", namespace: "default" },
        spec: {
          containers: [{ name: "c", image: "busybox:1.37", volumeMounts: [{ name: "d", mountPath: "/data" }] }],
          volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }],
        },
      },
    ];
    const said: string[] = [];
    const say = (line: string) => said.push(line);
    await sim.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
    const get = async (what: string[]) => JSON.parse(await sim.kubectl(["get", ...what, "-o", "json"]));
    try {
      const claim = await poll(
        "the claim to be Bound",
        async () => {
          await provideVolumes(sim.kubectl, say);
          return get(["pvc", "data", "-n", "default"]);
        },
        (c) => c.status?.phase === "Bound",
        { timeoutMs: 60_000, everyMs: 500 },
      );
      expect(said).toEqual([
        `stand-in volume ${claim.spec.volumeName} for PersistentVolumeClaim default/data (StorageClass longhorn-test: no driver.longhorn.io CSI driver runs on the sim)`,
      ]);
      await expect
        .poll(async () => (await get(["pod", "with-volume", "-n", "default"])).status?.phase, { timeout: 60_000 })
        .toBe("Running");
      await sim.kubectl(["delete", "pod", "with-volume", "-n", "default", "--grace-period=0", "--force"]);
      await sim.kubectl(["delete", "pvc", "data", "-n", "default", "--wait=false"]);
      await poll(
        "the stand-in volume to be deleted with its claim",
        async () => {
          await provideVolumes(sim.kubectl, say);
          return (await get(["pv"])).items.map((v: { metadata: { name: string } }) => v.metadata.name);
        },
        (names: string[]) => !names.includes(claim.spec.volumeName),
        { timeoutMs: 60_000, everyMs: 500 },
      );
      expect(said.at(-1)).toBe(`stand-in volume ${claim.spec.volumeName} deleted: its claim default/data is gone`);
    } finally {
      await sim.kubectl(["delete", "pod", "with-volume", "-n", "default", "--ignore-not-found", "--wait=false"]);
      await sim.kubectl(["delete", "pvc", "data", "-n", "default", "--ignore-not-found", "--wait=false"]);
      await sim.kubectl(["delete", "storageclass", "longhorn-test", "--ignore-not-found"]);
    }
  }, 200_000);
});

type Named = { metadata: { name: string } };
