// The drills' analysis as pure functions: which node the node-loss drill loses, which workloads it takes pods
// from, whether the PodDisruptionBudgets allowed it, where each workload stands after; and the DR drill's
// "Ready before, Ready again" comparison.
import { describe, expect, test } from "vitest";
import { drPassed, formatDr, missingNow, readyIds } from "../../src/sim/drills/dr-report.ts";
import {
  budgetRows,
  formatNodeLoss,
  outcomes,
  passed,
  pickNode,
  settled,
  workloadsOn,
} from "../../src/sim/drills/node-loss-report.ts";
import type { FluxRow } from "../../src/sim/status.ts";

const node = (name: string, controlPlane = false) => {
  const labels: Record<string, string> = controlPlane ? { "node-role.kubernetes.io/control-plane": "true" } : {};
  return { metadata: { name, labels } };
};
const owned = (kind: string, name: string) => [{ kind, name, controller: true }];
const pod = (
  name: string,
  nodeName: string | undefined,
  owner: { kind: string; name: string } | undefined,
  extra: { phase?: string; labels?: Record<string, string>; unschedulable?: string } = {},
) => ({
  metadata: {
    name,
    namespace: "apps",
    labels: extra.labels ?? {},
    ...(owner ? { ownerReferences: owned(owner.kind, owner.name) } : {}),
  },
  spec: nodeName ? { nodeName } : {},
  status: {
    phase: extra.phase ?? (nodeName ? "Running" : "Pending"),
    ...(extra.unschedulable
      ? {
          conditions: [
            { type: "PodScheduled", status: "False", reason: "Unschedulable", message: extra.unschedulable },
          ],
        }
      : {}),
  },
});
const rs = (name: string, deployment: string) => ({
  metadata: { name, namespace: "apps", ownerReferences: owned("Deployment", deployment) },
});
const deployment = (name: string, replicas: number, available: number) => ({
  kind: "Deployment",
  metadata: { name, namespace: "apps" },
  spec: { replicas },
  status: { availableReplicas: available },
});

const nodes = { items: [node("cp-1", true), node("worker-1"), node("worker-2")] };
const replicaSets = { items: [rs("web-abc", "web")] };
const beforePods = {
  items: [
    pod("web-abc-1", "worker-1", { kind: "ReplicaSet", name: "web-abc" }, { labels: { app: "web" } }),
    pod("web-abc-2", "worker-2", { kind: "ReplicaSet", name: "web-abc" }, { labels: { app: "web" } }),
    pod("db-0", "worker-1", { kind: "StatefulSet", name: "db" }, { labels: { app: "db" } }),
    pod("agent-x", "worker-1", { kind: "DaemonSet", name: "agent" }),
    pod("done-1", "worker-2", { kind: "Job", name: "done" }, { phase: "Succeeded" }),
    pod("api-1", "cp-1", { kind: "ReplicaSet", name: "api" }),
    pod("api-2", "cp-1", { kind: "ReplicaSet", name: "api" }),
  ],
};

describe("the node-loss drill's analysis", () => {
  test("loses the worker running the most pods (finished pods hold no place), or the node asked for", () => {
    expect(pickNode({ nodes, pods: beforePods })).toBe("worker-1");
    expect(pickNode({ nodes, pods: beforePods }, "cp-1")).toBe("cp-1");
    expect(() => pickNode({ nodes, pods: beforePods }, "worker-9")).toThrow(/no node worker-9 .*cp-1, worker-1/);
    expect(() => pickNode({ nodes: { items: [node("cp-1", true)] }, pods: beforePods })).toThrow(/no worker/);
  });

  test("names each workload with pods on the node once: a ReplicaSet's pods as its Deployment's", () => {
    const rows = workloadsOn({ nodes, pods: beforePods, replicaSets }, "worker-1");
    expect(rows.map((w) => [w.kind, w.name, w.lostPods])).toEqual([
      ["DaemonSet", "agent", ["agent-x"]],
      ["Deployment", "web", ["web-abc-1"]],
      ["StatefulSet", "db", ["db-0"]],
    ]);
  });

  test("a PodDisruptionBudget whose pods the node took is within budget only if it allowed that many", () => {
    const pdb = (name: string, app: string, allowed: number) => ({
      metadata: { name, namespace: "apps" },
      spec: { selector: { matchLabels: { app } } },
      status: { disruptionsAllowed: allowed },
    });
    const rows = budgetRows(
      { items: [pdb("web", "web", 1), pdb("db", "db", 0), pdb("other", "other", 0)] },
      beforePods,
      "worker-1",
    );
    expect(rows).toEqual([
      { namespace: "apps", name: "web", lost: 1, allowed: 1, within: true },
      { namespace: "apps", name: "db", lost: 1, allowed: 0, within: false },
    ]);
  });

  const affected = workloadsOn({ nodes, pods: beforePods, replicaSets }, "worker-1");
  const none = { items: [] };
  /** Where the workloads stand once these pods exist, `web` counting `webAvailable` available and `db` whole. */
  const standing = (pods: object[], webAvailable: number) =>
    outcomes(
      affected,
      {
        pods: { items: pods },
        replicaSets,
        deployments: { items: [deployment("web", 2, webAvailable)] },
        statefulSets: { items: [{ ...deployment("db", 1, 1), kind: "StatefulSet" }] },
      },
      "worker-1",
    );

  test("while the lost node's pods still exist, a Deployment counting them available is not whole again", () => {
    const rows = outcomes(
      affected,
      { pods: beforePods, replicaSets, deployments: { items: [deployment("web", 2, 2)] }, statefulSets: none },
      "worker-1",
    );
    expect(rows.find((w) => w.name === "web")?.state).toBe("waiting");
    expect(settled(rows)).toBe(false);
  });

  test("recreated on the remaining nodes: rescheduled; a DaemonSet's pod goes with its node", () => {
    const rows = standing(
      [
        pod("web-abc-2", "worker-2", { kind: "ReplicaSet", name: "web-abc" }),
        pod("web-abc-3", "worker-2", { kind: "ReplicaSet", name: "web-abc" }),
        pod("db-0", "worker-2", { kind: "StatefulSet", name: "db" }),
      ],
      2,
    );
    expect(rows.map((w) => [w.name, w.state])).toEqual([
      ["agent", "per-node"],
      ["web", "rescheduled"],
      ["db", "rescheduled"],
    ]);
    expect(settled(rows) && passed({ node: "worker-1", budgets: [], workloads: rows, seconds: 1 })).toBe(true);
  });

  test("a pod the scheduler cannot place is named with its reason, and the drill fails", () => {
    const why = "0/2 nodes are available: 2 Insufficient memory.";
    const rows = standing(
      [
        pod("web-abc-2", "worker-2", { kind: "ReplicaSet", name: "web-abc" }),
        pod("web-abc-3", undefined, { kind: "ReplicaSet", name: "web-abc" }, { unschedulable: why }),
        pod("db-0", "worker-2", { kind: "StatefulSet", name: "db" }),
      ],
      1,
    );
    const web = rows.find((w) => w.name === "web");
    expect(web?.state).toBe("waiting");
    expect(web?.pending).toEqual([{ name: "web-abc-3", reason: "Unschedulable", message: why }]);
    expect(settled(rows)).toBe(true);
    const report = { node: "worker-1", budgets: [], workloads: rows };
    expect(passed(report)).toBe(false);
    const text = formatNodeLoss(report).join("\n");
    expect(text).toContain("Deployment apps/web (1 pod lost): ✗ NOT whole again");
    expect(text).toContain(`Pending web-abc-3: Unschedulable: ${why}`);
  });

  test("interrupted, the drill fails and says so, even if nothing was still waiting", () => {
    const report = { node: "worker-1", budgets: [], workloads: [], interrupted: true };
    expect(passed(report)).toBe(false);
    expect(formatNodeLoss(report).at(-1)).toBe("interrupted before every workload was available again");
  });
});

const row = (name: string, ready: boolean, reason = ready ? "ReconciliationSucceeded" : "DependencyNotReady") =>
  ({ kind: "Kustomization", namespace: "flux-system", name, ready, reason, message: "" }) satisfies FluxRow;

describe("the DR drill's comparison", () => {
  const before = readyIds([row("flux-system", true), row("networking", true), row("linkerd", false)]);

  test("counts only what was Ready before; what is not Ready again, or not created again, is missing", () => {
    expect(before).toEqual(["Kustomization flux-system/flux-system", "Kustomization flux-system/networking"]);
    expect(missingNow(before, [row("flux-system", true)])).toEqual([
      { id: "Kustomization flux-system/networking", reason: "Absent", message: "not created again" },
    ]);
    expect(missingNow(before, [row("flux-system", true), row("networking", false)])).toEqual([
      { id: "Kustomization flux-system/networking", reason: "DependencyNotReady", message: "" },
    ]);
    expect(missingNow(before, [row("flux-system", true), row("networking", true), row("linkerd", false)])).toEqual([]);
  });

  test("passes with an RTO only when nothing is missing; the timeline is in time order", () => {
    const report = {
      readyBefore: before,
      phases: [
        { what: "control plane wiped", at: 1 },
        { what: "a fresh control plane is up", at: 10 },
      ],
      readyAgain: [
        { id: before[1] ?? "", at: 40 },
        { id: before[0] ?? "", at: 20 },
      ],
      missing: [],
      rto: 40,
    };
    expect(drPassed(report)).toBe(true);
    const lines = formatDr(report);
    expect(lines.slice(1, 5).map((l) => l.trim())).toEqual([
      "1.0 s  control plane wiped",
      "10.0 s  a fresh control plane is up",
      "20.0 s  ✓ Kustomization flux-system/flux-system Ready again",
      "40.0 s  ✓ Kustomization flux-system/networking Ready again",
    ]);
    expect(lines.at(-1)).toContain("RTO");
    const { rto: _, ...unfinished } = report;
    expect(drPassed({ ...unfinished, missing: [{ id: before[1] ?? "", reason: "Absent", message: "" }] })).toBe(false);
  });

  test("interrupted, it fails and tells what is left running and how to finish or stop it", () => {
    const { rto: _, ...report } = {
      readyBefore: before,
      phases: [],
      readyAgain: [],
      missing: [{ id: before[0] ?? "", reason: "Absent", message: "" }],
      rto: 1,
      interrupted: true,
    };
    expect(drPassed(report)).toBe(false);
    expect(formatDr(report).at(-1)).toBe(
      "interrupted with 1 of 2 not back yet: the fresh sim is left running; `ktsw sim bootstrap` finishes the restore, `ktsw sim down` stops it",
    );
  });
});
