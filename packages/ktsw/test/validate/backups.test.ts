// The databases' backups as the tree wires them (kubernetes/data/seaweedfs, kubernetes/data/barman-cloud,
// kubernetes/apps/task-processor, kubernetes/data/keycloak): each Cluster archives its WAL through the barman-cloud plugin to an ObjectStore
// beside it, that store points at a bucket the S3 server creates and at the S3 Service the chart renders, its keys
// are an identity of the S3 server limited to that bucket, a nightly base backup is scheduled, and everything is
// ordered after what it needs. Each link is one a typo would break only at run time, on a real cluster.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { sopsDecrypt } from "../../src/secrets/sops.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { arr, get, nameOf, namespaceOf, type Obj, str } from "../../src/validate/flux.ts";
import type { AppliedTree } from "../../src/validate/index.ts";
import { appliedTree, dependsOn, theObject } from "../support/tree.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const exampleKey = resolve(repo, "test-support/example-age.key");
const PLUGIN = "barman-cloud.cloudnative-pg.io";
const missing = (["helm", "sops"] as const).filter((t) => !findTool(t));
if (missing.length > 0)
  console.warn(`SKIPPING the tree's backup wiring: ${missing.map((t) => missingToolMessage(t)).join("; ")}`);

/** A SOPS file's decrypted stringData, with the example key. */
async function decryptedStringData(file: string): Promise<Record<string, string>> {
  const res = await sopsDecrypt(repo, file, exampleKey);
  expect(res.code, res.stderr).toBe(0);
  return (parse(res.stdout) as { stringData: Record<string, string> }).stringData;
}

interface S3Identity {
  credentials: { accessKey: string; secretKey: string }[];
  actions: string[];
}

/** The S3 server's identity with these keys (its Secret decrypted with the example key), if any. */
async function s3IdentityWithKeys(accessKey?: string, secretKey?: string): Promise<S3Identity | undefined> {
  const config = (await decryptedStringData("kubernetes/data/seaweedfs/app/s3-config.sops.yaml")).seaweedfs_s3_config;
  const { identities } = JSON.parse(config ?? "") as { identities: S3Identity[] };
  return identities.find((i) => i.credentials.some((c) => c.accessKey === accessKey && c.secretKey === secretKey));
}

/** The buckets the S3 server's Job makes (its BUCKETS, space-separated). */
function bucketsMade(tree: AppliedTree): string[] {
  const job = theObject(tree, "Job", "seaweedfs-buckets", "seaweedfs");
  const env = arr(job, "spec", "template", "spec", "containers", 0, "env");
  return (
    str(
      env.find((e) => str(e, "name") === "BUCKETS"),
      "value",
    ) ?? ""
  )
    .split(/\s+/)
    .filter(Boolean);
}

/** Read, write and list on one bucket, as SeaweedFS names the actions. */
const bucketActions = (bucket: string) => [`Read:${bucket}`, `Write:${bucket}`, `List:${bucket}`];

/** Every CloudNativePG database of the tree, where its Secrets are written and the Kustomization that applies it. */
const databases = [
  {
    cluster: "task-db",
    namespace: "task-processor",
    folder: "kubernetes/apps/task-processor/app",
    ks: "task-processor",
  },
  { cluster: "keycloak-db", namespace: "keycloak", folder: "kubernetes/data/keycloak/app", ks: "keycloak" },
];

describe.skipIf(missing.length > 0)("the databases' backups", () => {
  test("the tree's CloudNativePG databases are exactly the ones checked below", async () => {
    const tree = await appliedTree();
    const clusters = tree.applied.map((a) => a.object).filter((o) => o.kind === "Cluster");
    expect(clusters.map((c) => `${namespaceOf(c)}/${nameOf(c)}`).sort()).toEqual(
      databases.map((d) => `${d.namespace}/${d.cluster}`).sort(),
    );
  });

  test("task-db runs three instances, one per node, behind a PodDisruptionBudget", async () => {
    const cluster = theObject(await appliedTree(), "Cluster", "task-db", "task-processor");
    expect(get(cluster, "spec", "instances")).toBe(3);
    expect(get(cluster, "spec", "enablePDB")).toBe(true);
    expect(get(cluster, "spec", "affinity", "podAntiAffinityType")).toBe("required");
  });

  test.each(databases)(
    "$cluster archives WAL through the plugin to an ObjectStore on a bucket and Service of the S3 server, with its own keys, and a nightly base backup",
    async (db) => {
      const tree = await appliedTree();
      expect(tree.helm.findings.filter((f) => f.severity === "error")).toEqual([]);

      const cluster = theObject(tree, "Cluster", db.cluster, db.namespace);
      const plugins = arr(cluster, "spec", "plugins");
      expect(plugins.map((p) => [str(p, "name"), get(p, "isWALArchiver")])).toEqual([[PLUGIN, true]]);
      const storeName = str(plugins[0], "parameters", "barmanObjectName") ?? "";

      const store = theObject(tree, "ObjectStore", storeName, db.namespace);
      expect(str(store, "spec", "retentionPolicy")).toMatch(/^[1-9][0-9]*[dwm]$/);
      expect(str(store, "spec", "configuration", "wal", "compression")).toBeTruthy();
      // serverName stays empty (the plugin's docs): barman-cloud then writes under s3://<bucket>/<Cluster name>.
      expect(get(store, "spec", "configuration", "serverName")).toBeUndefined();
      const destination = /^s3:\/\/([a-z0-9.-]+)\/$/.exec(str(store, "spec", "configuration", "destinationPath") ?? "");
      expect(destination, "destinationPath is the root of a bucket").not.toBeNull();
      const bucket = destination?.[1] ?? "";

      // The bucket is one the S3 server's bucket Job makes.
      expect(bucketsMade(tree)).toContain(bucket);
      const seaweedfs = theObject(tree, "HelmRelease", "seaweedfs", "seaweedfs");

      // The endpoint is the S3 Service the chart renders, on its S3 port.
      const endpoint = new URL(str(store, "spec", "configuration", "endpointURL") ?? "");
      const [service, namespace, svc] = endpoint.hostname.split(".");
      expect(svc).toBe("svc");
      const s3Service = theObject(tree, "Service", service ?? "", namespace);
      expect(arr(s3Service, "spec", "ports").map((p) => get(p, "port"))).toContain(Number(endpoint.port));

      // The keys the store reads are an identity of the S3 server that may read, write and list that bucket.
      const credentials = get(store, "spec", "configuration", "s3Credentials") as Obj;
      const secretName = str(credentials, "accessKeyId", "name") ?? "";
      expect(str(credentials, "secretAccessKey", "name")).toBe(secretName);
      theObject(tree, "Secret", secretName, db.namespace);
      const keys = await decryptedStringData(`${db.folder}/${secretName}.sops.yaml`);
      const accessKey = keys[str(credentials, "accessKeyId", "key") ?? ""];
      const secretKey = keys[str(credentials, "secretAccessKey", "key") ?? ""];
      const configSecret = str(seaweedfs, "spec", "values", "s3", "existingConfigSecret") ?? "";
      theObject(tree, "Secret", configSecret, "seaweedfs");
      const identity = await s3IdentityWithKeys(accessKey, secretKey);
      expect(identity, "the ObjectStore's keys are an identity of the S3 server").toBeDefined();
      expect(identity?.actions).toEqual(expect.arrayContaining(bucketActions(bucket)));

      const nightly = tree.applied
        .map((a) => a.object)
        .filter(
          (o) =>
            o.kind === "ScheduledBackup" &&
            namespaceOf(o) === db.namespace &&
            str(o, "spec", "cluster", "name") === db.cluster,
        );
      expect(nightly.map((o) => [str(o, "spec", "method"), str(o, "spec", "pluginConfiguration", "name")])).toEqual([
        ["plugin", PLUGIN],
      ]);

      expect(dependsOn(tree, db.ks)).toEqual(expect.arrayContaining(["barman-cloud", "seaweedfs-buckets"]));
      expect(dependsOn(tree, "barman-cloud")).toEqual(expect.arrayContaining(["cloudnative-pg", "cert-manager"]));
      expect(dependsOn(tree, "seaweedfs")).toContain("longhorn-storageclasses");
      expect(dependsOn(tree, "seaweedfs-buckets")).toEqual(["seaweedfs"]);
      // The plugin runs beside the operator, which finds it by its Service there.
      expect(namespaceOf(theObject(tree, "Deployment", "plugin-barman-cloud"))).toBe("cnpg-system");
    },
  );

  test("the committed recovery Cluster restores task-db from its ObjectStore to a target time, and archives to a folder of its own", async () => {
    const tree = await appliedTree();
    const cluster = theObject(tree, "Cluster", "task-db", "task-processor");
    const store = str(arr(cluster, "spec", "plugins")[0], "parameters", "barmanObjectName");
    // Off by default, so not applied: read from its folder (tree.test.ts validates the tree with it on).
    const pitr = parse(
      readFileSync(resolve(repo, "kubernetes/apps/task-processor/recovery/database-pitr.yaml"), "utf8"),
    );
    expect(tree.applied.some((a) => a.object.kind === "Cluster" && nameOf(a.object) === nameOf(pitr))).toBe(false);
    const recovery = get(pitr, "spec", "bootstrap", "recovery") as Obj;
    const targetTime = str(recovery, "recoveryTarget", "targetTime") ?? "";
    expect(targetTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    expect(Number.isNaN(Date.parse(targetTime))).toBe(false);
    const source = arr(pitr, "spec", "externalClusters").find((c) => str(c, "name") === str(recovery, "source"));
    expect(get(source, "plugin")).toEqual({
      name: PLUGIN,
      parameters: { barmanObjectName: store, serverName: nameOf(cluster) },
    });
    // The same PostgreSQL image (as written, before Flux substitutes the site's domain): a base
    // backup restores into the same major version only.
    const written = parseAllDocuments(
      readFileSync(resolve(repo, "kubernetes/apps/task-processor/app/database.yaml"), "utf8"),
    )
      .map((d) => d.toJS() as Obj)
      .find((o) => o.kind === "Cluster" && nameOf(o) === nameOf(cluster));
    expect(str(pitr, "spec", "imageName")).toBe(str(written, "spec", "imageName"));
    const archive = arr(pitr, "spec", "plugins").map((p) => [
      get(p, "isWALArchiver"),
      str(p, "parameters", "serverName"),
    ]);
    expect(archive).toEqual([[true, nameOf(pitr)]]);
  });

  test("Velero keeps the app namespace's objects, nightly, in a bucket of the S3 server through its Service, with its own keys", async () => {
    const tree = await appliedTree();
    const location = theObject(tree, "BackupStorageLocation", "default", "velero");
    expect(str(location, "spec", "provider")).toBe("aws");
    const bucket = str(location, "spec", "objectStorage", "bucket") ?? "";
    expect(bucketsMade(tree)).toContain(bucket);
    // SeaweedFS serves buckets as paths, at the S3 Service the chart renders.
    expect(str(location, "spec", "config", "s3ForcePathStyle")).toBe("true");
    const endpoint = new URL(str(location, "spec", "config", "s3Url") ?? "");
    const [service, namespace] = endpoint.hostname.split(".");
    const s3Service = theObject(tree, "Service", service ?? "", namespace);
    expect(arr(s3Service, "spec", "ports").map((p) => get(p, "port"))).toContain(Number(endpoint.port));

    // The server reads the AWS credentials file of the Secret the chart mounts.
    const velero = theObject(tree, "HelmRelease", "velero", "velero");
    const secretName = str(velero, "spec", "values", "credentials", "existingSecret") ?? "";
    theObject(tree, "Secret", secretName, "velero");
    const cloud = (await decryptedStringData("kubernetes/data/velero/app/s3-credentials.sops.yaml")).cloud ?? "";
    const field = (key: string) => new RegExp(`^${key}=(.+)$`, "m").exec(cloud)?.[1];
    const identity = await s3IdentityWithKeys(field("aws_access_key_id"), field("aws_secret_access_key"));
    expect(identity, "Velero's keys are an identity of the S3 server").toBeDefined();
    expect(identity?.actions).toEqual(expect.arrayContaining(bucketActions(bucket)));

    const schedules = tree.applied
      .map((a) => a.object)
      .filter((o) => o.kind === "Schedule" && namespaceOf(o) === "velero");
    expect(schedules.flatMap((o) => arr(o, "spec", "template", "includedNamespaces"))).toContain("task-processor");
    for (const o of schedules) expect(str(o, "spec", "template", "storageLocation")).toBe(nameOf(location));
    expect(dependsOn(tree, "velero")).toContain("seaweedfs-buckets");
  });
});
