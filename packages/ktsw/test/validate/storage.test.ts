// Every claimed volume has a StorageClass the tree defines (the rule `ktsw validate` runs), and the
// real tree's classes are the ones platform/longhorn/README.md explains: one default class with three
// replicas, longhorn-single with one, each claimant on the class chosen for it and ordered after them.
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { defaultValidateOptions, treeSources } from "../../src/commands/validate.ts";
import { loadConfig } from "../../src/config/load.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { get, nameOf, type Obj } from "../../src/validate/flux.ts";
import { buildAppliedTree } from "../../src/validate/index.ts";
import { checkStorageClasses, isDefaultClass, storageClasses, volumeClaims } from "../../src/validate/storage.ts";
import type { AppliedObject } from "../../src/validate/walk.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const helm = findTool("helm");
if (!helm)
  console.warn(
    `SKIPPING the real tree's StorageClass pins (NATS' chart renders its claims): ${missingToolMessage("helm")}`,
  );

const applied = (object: Obj, owner = "flux-system/demo"): AppliedObject => ({ object, owner });
const storageClass = (name: string, isDefault: boolean) =>
  applied({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: {
      name,
      ...(isDefault ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}),
    },
    provisioner: "driver.longhorn.io",
  });
const pvc = (name: string, storageClassName?: string) =>
  applied({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name },
    spec: { ...(storageClassName === undefined ? {} : { storageClassName }), resources: {} },
  });

describe("volume claims", () => {
  test("are read from PVCs, StatefulSet claim templates, CloudNativePG Clusters (data and WAL), VMSingle and VMAlertmanager", () => {
    const claims = volumeClaims([
      pvc("plain", "fast"),
      pvc("static", ""), // asks for a pre-made volume, not a class
      applied({
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "sts" },
        spec: { volumeClaimTemplates: [{ spec: { storageClassName: "fast" } }, { spec: {} }] },
      }),
      applied({
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "Cluster",
        metadata: { name: "db" },
        spec: { storage: { size: "1Gi", storageClass: "single" }, walStorage: { size: "1Gi" } },
      }),
      applied({
        apiVersion: "operator.victoriametrics.com/v1beta1",
        kind: "VMSingle",
        metadata: { name: "vm" },
        spec: { storage: { storageClassName: "fast" } },
      }),
      applied({ apiVersion: "operator.victoriametrics.com/v1beta1", kind: "VMSingle", metadata: { name: "mem" } }),
      applied({
        apiVersion: "operator.victoriametrics.com/v1beta1",
        kind: "VMAlertmanager",
        metadata: { name: "am" },
        spec: { storage: { volumeClaimTemplate: { spec: { storageClassName: "single" } } } },
      }),
      // An emptyDir claims nothing.
      applied({
        apiVersion: "operator.victoriametrics.com/v1beta1",
        kind: "VMAlertmanager",
        metadata: { name: "am-mem" },
        spec: { storage: { emptyDir: {} } },
      }),
      applied({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "stateless" }, spec: {} }),
    ]);
    expect(claims.map((c) => [nameOf(c.at.object), c.path.join("."), c.storageClass])).toEqual([
      ["plain", "spec.storageClassName", "fast"],
      ["sts", "spec.volumeClaimTemplates.0.spec.storageClassName", "fast"],
      ["sts", "spec.volumeClaimTemplates.1.spec.storageClassName", undefined],
      ["db", "spec.storage.storageClass", "single"],
      ["db", "spec.walStorage.storageClass", undefined],
      ["vm", "spec.storage.storageClassName", "fast"],
      ["am", "spec.storage.volumeClaimTemplate.spec.storageClassName", "single"],
    ]);
  });

  test("a claim on a class the tree does not define, or on a default class it lacks, is reported", () => {
    const messages = (objects: AppliedObject[]) => checkStorageClasses(objects).map((f) => f.message);
    expect(messages([storageClass("fast", true), pvc("named", "fast"), pvc("unnamed")])).toEqual([]);
    expect(messages([storageClass("fast", false), pvc("named", "slow"), pvc("unnamed")])).toEqual([
      "PersistentVolumeClaim named claims a volume of StorageClass slow, which the tree does not define: it stays Pending",
      "PersistentVolumeClaim unnamed claims a volume of the default StorageClass, and the tree defines none: it stays Pending",
    ]);
    // No claim at all: a tree without classes is fine.
    expect(messages([applied({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } })])).toEqual([]);
  });

  test("two default classes are reported on each", () => {
    const findings = checkStorageClasses([storageClass("a", true), storageClass("b", true), storageClass("c", false)]);
    expect(findings.map((f) => [f.rule, f.message])).toEqual([
      ["storage.class", expect.stringMatching(/^one of 2 default StorageClasses \(a, b\)/)],
      ["storage.class", expect.stringMatching(/^one of 2 default StorageClasses \(a, b\)/)],
    ]);
  });
});

describe.skipIf(!helm)("the real tree's StorageClasses", () => {
  test("longhorn is the one default (3 replicas), longhorn-single has 1, and each claimant uses the class chosen for it, after them", async () => {
    const { config } = await loadConfig(`${repo}/ktsw.yaml`);
    if (!config) throw new Error("ktsw.yaml does not load");
    const tree = await buildAppliedTree(treeSources(repo, config, defaultValidateOptions));
    expect(tree.helm.findings.filter((f) => f.severity === "error")).toEqual([]);

    const classes = storageClasses(tree.applied);
    expect([...classes.keys()].sort()).toEqual(["longhorn", "longhorn-single"]);
    expect([...classes.values()].filter((a) => isDefaultClass(a.object)).map((a) => nameOf(a.object))).toEqual([
      "longhorn",
    ]);
    const param = (name: string, key: string) => get(classes.get(name)?.object, "parameters", key);
    expect(param("longhorn", "numberOfReplicas")).toBe("3");
    expect(param("longhorn-single", "numberOfReplicas")).toBe("1");
    for (const [name, sc] of classes) {
      expect(get(sc.object, "provisioner"), name).toBe("driver.longhorn.io");
      expect(sc.owner, `${name} is applied with the other classes`).toBe("flux-system/longhorn-storageclasses");
    }
    // The chart's own class (a ConfigMap the manager turns into a StorageClass at run time) is off.
    expect(
      tree.applied.some((a) => a.object.kind === "ConfigMap" && nameOf(a.object) === "longhorn-storageclass"),
    ).toBe(false);

    const claims = volumeClaims(tree.applied).map(
      (c) => `${c.at.owner} ${c.at.object.kind} ${nameOf(c.at.object)}: ${c.storageClass}`,
    );
    expect(claims.sort()).toEqual([
      // Alertmanager's silences and notification log: re-made after a node loss at worst.
      "flux-system/alertmanager VMAlertmanager alertmanager: longhorn-single",
      // Harbor: images and its database on three replicas; job logs, Redis and Trivy's cache can be rebuilt.
      "flux-system/harbor PersistentVolumeClaim harbor-jobservice: longhorn-single",
      "flux-system/harbor PersistentVolumeClaim harbor-registry: longhorn",
      "flux-system/harbor StatefulSet harbor-database: longhorn",
      "flux-system/harbor StatefulSet harbor-redis: longhorn-single",
      "flux-system/harbor StatefulSet harbor-trivy: longhorn-single",
      "flux-system/keycloak Cluster keycloak-db: longhorn-single",
      "flux-system/loki StatefulSet loki: longhorn",
      "flux-system/nats StatefulSet nats: longhorn-single",
      "flux-system/seaweedfs StatefulSet seaweedfs-filer: longhorn",
      "flux-system/seaweedfs StatefulSet seaweedfs-master: longhorn",
      "flux-system/seaweedfs StatefulSet seaweedfs-volume: longhorn",
      "flux-system/task-processor Cluster task-db: longhorn-single",
      "flux-system/tempo StatefulSet tempo: longhorn",
      "flux-system/victoria-metrics-operator-config VMSingle vmsingle: longhorn",
    ]);
    const dependsOn = (ks: string) =>
      ((get(tree.walk.nodes.get(ks)?.object, "spec", "dependsOn") ?? []) as { name: string }[]).map((d) => d.name);
    for (const owner of new Set(volumeClaims(tree.applied).map((c) => c.at.owner)))
      expect(dependsOn(owner), owner).toContain("longhorn-storageclasses");
    expect(dependsOn("flux-system/longhorn-storageclasses")).toEqual(["longhorn"]);
  });
});
