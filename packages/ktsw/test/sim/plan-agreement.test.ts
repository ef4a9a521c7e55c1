// The capacity plan beside the scheduler: per workload, the pods placed and what each asks for; what the sim cannot
// have (operator-made pods, k3s' own, a Helm hook gone after it ran, what an unready Kustomization applies) is not
// compared, and says why.
import { describe, expect, test } from "vitest";
import { planCapacity } from "../../src/capacity/index.ts";
import { type ApiPod, agrees, compareWithScheduler, formatAgreement } from "../../src/sim/plan-agreement.ts";
import { at, node, requests, workload } from "../capacity/support.ts";

const nodes = [node("worker-1"), node("worker-2")];
const ready = new Set(["flux-system/demo"]);

function pod(name: string, owner: { kind: string; name: string } | undefined, o: Partial<ApiPod["spec"]> = {}) {
  return {
    metadata: { name, namespace: "demo", ...(owner ? { ownerReferences: [owner] } : {}) },
    spec: { nodeName: "worker-1", containers: [{ name: "main", resources: requests("100m", "128Mi") }], ...o },
    status: { phase: "Running" },
  } as ApiPod;
}
const rs = (name: string, deployment: string) => ({
  metadata: { name, namespace: "demo", ownerReferences: [{ kind: "Deployment", name: deployment }] },
});

describe("the plan beside the sim's scheduler", () => {
  test("a Deployment's pods (through their ReplicaSet) and a DaemonSet's agree when count and requests match", () => {
    const plan = planCapacity([workload("web", { replicas: 2 }), workload("agent", { kind: "DaemonSet" })], nodes, {
      parents: new Map(),
    });
    const pods = [
      pod("web-1", { kind: "ReplicaSet", name: "web-abc" }),
      pod("web-2", { kind: "ReplicaSet", name: "web-abc" }, { nodeName: "worker-2" }),
      pod("agent-1", { kind: "DaemonSet", name: "agent" }),
      pod("agent-2", { kind: "DaemonSet", name: "agent" }, { nodeName: "worker-2" }),
    ];
    const a = compareWithScheduler(
      plan,
      { pods: { items: pods }, replicaSets: { items: [rs("web-abc", "web")] } },
      ready,
      0,
    );
    expect(a.rows.map((r) => [r.workload, r.verdict])).toEqual([
      ["Deployment demo/web", "agree"],
      ["DaemonSet demo/agent", "agree"],
    ]);
    expect(agrees(a)).toBe(true);
    expect(formatAgreement(a).at(-1)).toBe("2 agree, 0 differ, 0 not compared; both place every pod");
  });

  test("fewer pods bound than the plan places is a difference, with the scheduler's reason for the Pending one", () => {
    const plan = planCapacity([workload("web", { replicas: 2 })], nodes, { parents: new Map() });
    const pending = {
      ...pod("web-2", { kind: "ReplicaSet", name: "web-abc" }, { nodeName: undefined }),
      status: {
        phase: "Pending",
        conditions: [
          { type: "PodScheduled", reason: "Unschedulable", message: "0/2 nodes are available: 2 Insufficient memory." },
        ],
      },
    } as ApiPod;
    const a = compareWithScheduler(
      plan,
      {
        pods: { items: [pod("web-1", { kind: "ReplicaSet", name: "web-abc" }), pending] },
        replicaSets: { items: [rs("web-abc", "web")] },
      },
      ready,
      1,
    );
    expect(a.rows[0]?.verdict).toBe("differs");
    expect(a.rows[0]?.why).toBe(
      "the plan places 2 pods, the scheduler bound 1 (Pending: 0/2 nodes are available: 2 Insufficient memory.)",
    );
    expect(a.bothFit).toBe(false);
    expect(agrees(a)).toBe(false);
    expect(formatAgreement(a).at(-1)).toContain(
      "NOT both fit: 1 pods of the sim wait for room, the plan leaves 0 unplaced",
    );
  });

  test("other requests on the sim than in the plan is a difference naming both", () => {
    const plan = planCapacity([workload("web")], nodes, { parents: new Map() });
    const bigger = pod(
      "web-1",
      { kind: "ReplicaSet", name: "web-abc" },
      {
        containers: [{ name: "main", resources: requests("200m", "128Mi") }],
      },
    );
    const a = compareWithScheduler(
      plan,
      { pods: { items: [bigger] }, replicaSets: { items: [rs("web-abc", "web")] } },
      ready,
      0,
    );
    expect(a.rows[0]?.why).toBe("a pod asks for 200m CPU, 128Mi on the sim, 100m CPU, 128Mi in the plan");
  });

  test("what the sim cannot have is not compared, each with why; a pod the plan has and the sim lacks otherwise differs", () => {
    const cnpg = at({
      apiVersion: "postgresql.cnpg.io/v1",
      kind: "Cluster",
      metadata: { name: "db", namespace: "demo" },
      spec: { instances: 2, resources: requests("100m", "256Mi") },
    });
    const hook = workload("migrate", { kind: "Job" });
    (hook.object.metadata as Record<string, unknown>).annotations = { "helm.sh/hook": "post-install" };
    const plan = planCapacity(
      [cnpg, hook, workload("late", { owner: "flux-system/apps" }), workload("missing")],
      nodes,
      { parents: new Map() },
    );
    const a = compareWithScheduler(plan, { pods: { items: [] }, replicaSets: { items: [] } }, ready, 0);
    expect(a.rows.map((r) => [r.workload, r.verdict, r.why])).toEqual([
      ["Cluster demo/db", "not compared", "not on the sim: operator-made"],
      ["Job demo/migrate", "not compared", "not on the sim: Helm hook, deleted once it succeeded"],
      ["Deployment demo/late", "not compared", "not on the sim: owner not Ready"],
      ["Deployment demo/missing", "differs", "the plan places pods the sim does not have"],
    ]);
  });

  test("pods an unready Kustomization's workload left Pending are not compared, the reason kept", () => {
    const plan = planCapacity([workload("nats", { kind: "StatefulSet", owner: "flux-system/nats" })], nodes, {
      parents: new Map(),
    });
    const waiting = {
      ...pod("nats-0", { kind: "StatefulSet", name: "nats" }, { nodeName: undefined }),
      status: { conditions: [{ type: "PodScheduled", message: "pod has unbound immediate PersistentVolumeClaims" }] },
    } as ApiPod;
    const a = compareWithScheduler(plan, { pods: { items: [waiting] }, replicaSets: { items: [] } }, ready, 0);
    expect(a.rows[0]?.verdict).toBe("not compared");
    expect(a.rows[0]?.why).toContain("its Kustomization is not Ready on the sim");
    expect(a.rows[0]?.why).toContain("unbound immediate PersistentVolumeClaims");
    expect(agrees(a)).toBe(true);
  });

  test("a meshed pod without its proxy on the sim (no injector there) is compared with the template as written", () => {
    const mesh = at({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "linkerd-config", namespace: "linkerd" },
      data: { values: "proxy:\n  resources:\n    cpu: {request: 100m}\n    memory: {request: 20Mi}\n" },
    });
    const web = workload("web");
    (web.object as { spec: { template: { metadata: Record<string, unknown> } } }).spec.template.metadata.annotations = {
      "linkerd.io/inject": "enabled",
    };
    const plan = planCapacity([mesh, web], nodes, { parents: new Map() });
    expect(plan.workloads[0]?.meshed).toBe(true);
    const a = compareWithScheduler(
      plan,
      {
        pods: { items: [pod("web-1", { kind: "ReplicaSet", name: "web-abc" })] },
        replicaSets: { items: [rs("web-abc", "web")] },
      },
      ready,
      0,
    );
    expect(a.rows[0]?.verdict).toBe("agree");
    expect(a.rows[0]?.why).toBe("agree, without Linkerd's proxy (no injector on the sim)");
  });
});
