// The backup drill's analysis: which objects a restore must bring back and whether each came back the same.
import { describe, expect, test } from "vitest";
import {
  type ApiObject,
  type BackupReport,
  backupPassed,
  compare,
  declared,
  formatBackup,
  objectId,
  restoreResultLines,
} from "../../src/sim/drills/backup-report.ts";
import { emptiedButStuck, namespaceQueue } from "../../src/sim/drills/namespaces.ts";

const obj = (kind: string, name: string, rest: Record<string, unknown> = {}): ApiObject => ({
  apiVersion: kind === "Deployment" || kind === "ReplicaSet" ? "apps/v1" : "v1",
  kind,
  metadata: { name, namespace: "app", uid: `${name}-uid`, resourceVersion: "1" },
  ...rest,
});

const deployment = obj("Deployment", "gateway", { spec: { replicas: 2 }, status: { readyReplicas: 2 } });
const owned = {
  ...obj("ReplicaSet", "gateway-5d9"),
  metadata: { name: "gateway-5d9", namespace: "app", ownerReferences: [{ kind: "Deployment", name: "gateway" }] },
};
const service = obj("Service", "gateway", { spec: { clusterIP: "10.43.0.20", clusterIPs: ["10.43.0.20"], ports: [] } });
const config = obj("ConfigMap", "settings", { data: { LOG_LEVEL: "info" } });

describe("what a restore must bring back", () => {
  test("objects nobody owns, not the derived kinds nor what an owner makes again", () => {
    const list = { items: [deployment, owned, service, config, obj("Event", "e1"), obj("Endpoints", "gateway")] };
    expect(declared(list).map(objectId)).toEqual([
      "apps/Deployment app/gateway",
      "core/Service app/gateway",
      "core/ConfigMap app/settings",
    ]);
  });
});

describe("comparing before and after", () => {
  test("status, metadata and a Service's reassigned cluster IP are not differences", () => {
    const after = [
      {
        ...deployment,
        metadata: { ...deployment.metadata, uid: "new", labels: { "velero.io/restore-name": "r" } },
        status: {},
      },
      { ...service, spec: { clusterIP: "10.43.0.99", clusterIPs: ["10.43.0.99"], ports: [] } },
      config,
    ];
    const c = compare([deployment, service, config], { items: after });
    expect(c).toEqual({ same: [objectId(deployment), objectId(service), objectId(config)], changed: [], missing: [] });
  });

  test("changed content names the field; an object not back is missing", () => {
    const after = [
      { ...deployment, spec: { replicas: 1 } },
      { ...config, data: { LOG_LEVEL: "debug" } },
    ];
    const c = compare([deployment, service, config], { items: after });
    expect(c.changed).toEqual([
      { id: objectId(deployment), fields: ["spec.replicas"] },
      { id: objectId(config), fields: ["data.LOG_LEVEL"] },
    ]);
    expect(c.missing).toEqual([objectId(service)]);
  });
});

describe("the verdict", () => {
  const whole: BackupReport = {
    namespaces: ["app"],
    from: "the tree's schedule velero/apps-nightly",
    phases: [{ what: "backup", seconds: 2 }],
    backup: { phase: "Completed", items: 40, warnings: 0, errors: 0 },
    restore: { phase: "Completed", items: 38, warnings: 1, errors: 0 },
    comparison: { same: ["core/ConfigMap app/settings"], changed: [], missing: [] },
  };

  test("passes only when both runs completed and everything declared is back unchanged", () => {
    expect(backupPassed(whole)).toBe(true);
    expect(backupPassed({ ...whole, restore: { phase: "PartiallyFailed", items: 3, warnings: 0, errors: 2 } })).toBe(
      false,
    );
    const missing = { same: [], changed: [], missing: ["core/ConfigMap app/settings"] };
    expect(backupPassed({ ...whole, comparison: missing })).toBe(false);
    expect(backupPassed({ ...whole, interrupted: true })).toBe(false);
  });

  test("the report names every missing object and what changed", () => {
    const lines = formatBackup({
      ...whole,
      comparison: {
        same: [],
        changed: [{ id: "apps/Deployment app/gateway", fields: ["spec.replicas"] }],
        missing: ["core/Secret app/keys"],
      },
    });
    expect(lines).toContain("  ✗ changed: apps/Deployment app/gateway (spec.replicas)");
    expect(lines).toContain("  ✗ NOT back: core/Secret app/keys");
    expect(lines[1]).toBe("backup: Completed, 40 items, 0 warnings, 0 errors");
  });
});

describe("a namespace the drill may finalize itself", () => {
  const ns = (conditions: [string, string][]) => ({
    metadata: { name: "app" },
    status: { conditions: conditions.map(([type, status]) => ({ type, status })) },
  });

  test("only when the namespace controller reports it empty and stuck on discovery", () => {
    const empty: [string, string][] = [
      ["NamespaceContentRemaining", "False"],
      ["NamespaceFinalizersRemaining", "False"],
    ];
    expect(emptiedButStuck(ns([["NamespaceDeletionDiscoveryFailure", "True"], ...empty]))).toBe(true);
    expect(emptiedButStuck(ns(empty))).toBe(false);
    expect(
      emptiedButStuck(
        ns([
          ["NamespaceDeletionDiscoveryFailure", "True"],
          ["NamespaceContentRemaining", "True"],
          ["NamespaceFinalizersRemaining", "False"],
        ]),
      ),
    ).toBe(false);
  });
});

describe("the namespace controller's work queue, read from the controller manager's metrics", () => {
  const metrics = (depth: string, unfinished: string) =>
    [
      "# HELP workqueue_depth [STABLE] Current depth of workqueue",
      'workqueue_depth{name="endpoint"} 3',
      `workqueue_depth{name="namespace"} ${depth}`,
      'workqueue_unfinished_work_seconds{name="endpoint"} 0.2',
      `workqueue_unfinished_work_seconds{name="namespace"} ${unfinished}`,
    ].join("\n");

  test("its own queue's depth and work in flight, not another controller's", () => {
    expect(namespaceQueue(metrics("0", "0"))).toEqual({ depth: 0, unfinishedSeconds: 0 });
    expect(namespaceQueue(metrics("1", "2.5e-01"))).toEqual({ depth: 1, unfinishedSeconds: 0.25 });
  });

  test("no namespace queue in the metrics is no reading, not an idle one", () => {
    expect(namespaceQueue('workqueue_depth{name="endpoint"} 0')).toBeUndefined();
  });
});

describe("Velero's restore results, as the drill reports them", () => {
  test("errors first, then warnings, each saying where", () => {
    const lines = restoreResultLines({
      warnings: { velero: ["slow"], namespaces: { app: ["could not restore, Service app/web already exists"] } },
      errors: { cluster: ["no such kind"] },
    });
    expect(lines).toEqual([
      "error (cluster): no such kind",
      "warning (velero): slow",
      "warning (app): could not restore, Service app/web already exists",
    ]);
  });
});
