// `ktsw sim status` rows from API lists: pending pods carry the scheduler's reason, Flux objects their Ready condition.
import { describe, expect, test } from "vitest";
import { fluxRows, formatStatus, nodeRows, pendingPods } from "../../src/sim/status.ts";

describe("sim status rows", () => {
  test("a pod the scheduler could not place is listed with its reason and message; placed or running ones are not", () => {
    const unschedulable = {
      metadata: { namespace: "default", name: "huge" },
      status: {
        phase: "Pending",
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: "0/5 nodes are available: 5 Insufficient memory.",
          },
        ],
      },
    };
    const fresh = { metadata: { namespace: "default", name: "new" }, status: { phase: "Pending" } };
    const bound = {
      metadata: { namespace: "default", name: "bound" },
      spec: { nodeName: "worker-1" },
      status: { phase: "Pending" },
    };
    const running = {
      metadata: { namespace: "default", name: "web" },
      spec: { nodeName: "worker-1" },
      status: { phase: "Running" },
    };
    expect(pendingPods({ items: [unschedulable, fresh, bound, running] })).toEqual([
      {
        namespace: "default",
        name: "huge",
        reason: "Unschedulable",
        message: "0/5 nodes are available: 5 Insufficient memory.",
      },
      { namespace: "default", name: "new", reason: "NotScheduledYet", message: "" },
    ]);
  });

  test("Flux objects: kind, namespace, name, ready as a boolean and the reason", () => {
    const ready = {
      metadata: { namespace: "flux-system", name: "apps" },
      status: { conditions: [{ type: "Ready", status: "True", reason: "ReconciliationSucceeded" }] },
    };
    const fresh = { metadata: { namespace: "flux-system", name: "infra" } };
    expect(fluxRows("Kustomization", { items: [ready, fresh] })).toEqual([
      {
        kind: "Kustomization",
        namespace: "flux-system",
        name: "apps",
        ready: true,
        reason: "ReconciliationSucceeded",
        message: "",
      },
      {
        kind: "Kustomization",
        namespace: "flux-system",
        name: "infra",
        ready: false,
        reason: "NoReadyCondition",
        message: "",
      },
    ]);
  });

  test("nodes: readiness, roles from the role labels, allocatable, taints; the text form names each", () => {
    const node = {
      metadata: {
        name: "cp-1",
        labels: { "node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/etcd": "true" },
      },
      spec: { taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] },
      status: {
        conditions: [{ type: "Ready", status: "True" }],
        allocatable: { cpu: "4", memory: "8092Mi", pods: "110" },
      },
    };
    const rows = nodeRows({ items: [node] });
    expect(rows).toEqual([
      {
        name: "cp-1",
        ready: true,
        roles: ["control-plane", "etcd"],
        allocatable: { cpu: "4", memory: "8092Mi", pods: "110" },
        taints: ["node-role.kubernetes.io/control-plane:NoSchedule"],
      },
    ]);
    const text = formatStatus({
      running: true,
      dir: "/s",
      processes: [{ name: "etcd", pid: 1, running: true }],
      nodes: rows,
      pendingPods: [],
      flux: [],
    });
    expect(text).toContain("nodes (1/1 Ready):");
    expect(text.join("\n")).toMatch(/cp-1 Ready roles=control-plane,etcd cpu=4 memory=8092Mi pods=110 taints=/);
    expect(formatStatus({ running: false, dir: "/s", processes: [], nodes: [], pendingPods: [], flux: [] })).toEqual([
      "no sim in /s (`ktsw sim up` starts one)",
    ]);
  });
});
