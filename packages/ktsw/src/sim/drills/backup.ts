// `ktsw sim drill backup`: the tree's nightly Velero backup, run now by the real Velero server against the sim, then
// the namespaces it covers deleted and restored from it. Velero runs as a process beside the sim, in a namespace of
// its own (`velero-drill`), with the tree's backup storage location pointed at a local S3 server instead of
// SeaweedFS; the backup's spec is the tree's schedule template, read from the sim. Flux is suspended over the
// namespaces meanwhile, so what comes back came from the backup, not from Git. The analysis is backup-report.ts.
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { poll } from "../../lab/net/poll.ts";
import { requireSimTool, requireTool } from "../../tools/find.ts";
import { gofakes3Args, standInKeys } from "../../tools/s3-stand-in.ts";
import type { Kubectl } from "../kubectl.ts";
import { freePort } from "../ports.ts";
import { isRunning, type Started, startDetached, stopAll, waitReady } from "../processes.ts";
import { type ApiList, type ApiObject, type BackupReport, compare, declared } from "./backup-report.ts";

export interface BackupOptions {
  kubectl: Kubectl;
  kubeconfig: string;
  binFolder: string;
  /** The namespaces to back up; default: those of the tree's schedule. */
  namespaces?: readonly string[];
  progress: (line: string) => void;
  /** How long each of backup, deletion and restore may take. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Where the drill's Velero runs; the tree's own `velero` namespace is left as Flux made it. */
export const DRILL_NAMESPACE = "velero-drill";
const TREE_NAMESPACE = "velero";
const BUCKET = "velero";

const json = async <T>(kubectl: Kubectl, args: readonly string[]): Promise<T> =>
  JSON.parse(await kubectl([...args, "-o", "json"])) as T;

/** The backup spec of the tree's first Velero schedule, as the chart made it in the sim. */
async function treeSchedule(kubectl: Kubectl): Promise<{ name: string; template: Record<string, unknown> }> {
  const list = await json<ApiList>(kubectl, ["get", "schedules.velero.io", "-n", TREE_NAMESPACE]);
  const first = list.items[0];
  if (!first) throw new Error(`the sim has no Velero Schedule in ${TREE_NAMESPACE} (is data/velero Ready?)`);
  const spec = first.spec as { template?: Record<string, unknown> } | undefined;
  return { name: first.metadata.name, template: spec?.template ?? {} };
}

/** The tree's default backup storage location, pointed at the local S3 server with the drill's keys. */
async function drillLocation(kubectl: Kubectl, s3Url: string): Promise<ApiObject> {
  const bsl = await json<ApiObject>(kubectl, [
    "get",
    "backupstoragelocations.velero.io",
    "default",
    "-n",
    TREE_NAMESPACE,
  ]);
  const spec = bsl.spec as { config?: Record<string, string> };
  return {
    apiVersion: "velero.io/v1",
    kind: "BackupStorageLocation",
    metadata: { name: "default", namespace: DRILL_NAMESPACE },
    spec: {
      ...spec,
      config: { ...spec.config, s3Url },
      credential: { name: "drill-s3", key: "cloud" },
    },
  };
}

const credentials = () =>
  [
    "[default]",
    `aws_access_key_id=${standInKeys.accessKeyId}`,
    `aws_secret_access_key=${standInKeys.secretAccessKey}`,
    "",
  ].join("\n");

/** Every namespaced object of `namespaces` the API lists (one List across every listable kind). */
async function inventory(kubectl: Kubectl, namespaces: readonly string[]): Promise<ApiList> {
  const kinds = (await kubectl(["api-resources", "--namespaced", "--verbs=list", "-o", "name"]))
    .split("\n")
    .filter((k) => k && !k.startsWith("events"));
  const items: ApiObject[] = [];
  for (const ns of namespaces) {
    const list = await json<ApiList>(kubectl, ["get", kinds.join(","), "-n", ns, "--ignore-not-found"]).catch(() => ({
      items: [],
    }));
    items.push(...list.items);
  }
  const nsObjects = await json<ApiList>(kubectl, ["get", "namespaces", ...namespaces, "--ignore-not-found"]);
  return { items: [...nsObjects.items, ...items] };
}

/** The Flux Kustomizations and HelmReleases that write into `namespaces`. */
async function fluxOver(kubectl: Kubectl, namespaces: readonly string[]): Promise<string[]> {
  const ks = await json<ApiList>(kubectl, ["get", "kustomizations.kustomize.toolkit.fluxcd.io", "-A"]);
  const hr = await json<ApiList>(kubectl, ["get", "helmreleases.helm.toolkit.fluxcd.io", "-A"]);
  const into = (o: ApiObject) => {
    const spec = o.spec as { targetNamespace?: string };
    return namespaces.includes(spec.targetNamespace ?? o.metadata.namespace ?? "");
  };
  return [
    ...ks.items
      .filter(into)
      .map((o) => `kustomizations.kustomize.toolkit.fluxcd.io/${o.metadata.name} -n ${o.metadata.namespace}`),
    ...hr.items
      .filter(into)
      .map((o) => `helmreleases.helm.toolkit.fluxcd.io/${o.metadata.name} -n ${o.metadata.namespace}`),
  ];
}

const suspend = (kubectl: Kubectl, ref: string, suspended: boolean) => {
  const [resource = "", , ns = ""] = ref.split(" ");
  return kubectl(["patch", resource, "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { suspend: suspended } })]);
};

type Run = NonNullable<BackupReport["backup"]>;

/** Waits for a Backup or Restore to end, and reads Velero's verdict. */
async function finished(o: BackupOptions, resource: string, name: string): Promise<Run> {
  const done = ["Completed", "PartiallyFailed", "Failed", "FailedValidation"];
  const status = await poll(
    `${resource} ${name} to finish`,
    async () =>
      (await json<ApiObject>(o.kubectl, ["get", resource, name, "-n", DRILL_NAMESPACE])).status as Record<
        string,
        unknown
      >,
    (s) => done.includes(String(s?.phase)),
    { timeoutMs: o.timeoutMs, everyMs: 1_000, ...(o.signal ? { signal: o.signal } : {}) },
  );
  const progress = (status.progress ?? {}) as { itemsBackedUp?: number; itemsRestored?: number };
  return {
    phase: String(status.phase),
    items: progress.itemsBackedUp ?? progress.itemsRestored ?? 0,
    warnings: Number(status.warnings ?? 0),
    errors: Number(status.errors ?? 0),
  };
}

export async function drillBackup(o: BackupOptions): Promise<BackupReport> {
  const schedule = await treeSchedule(o.kubectl);
  const namespaces = o.namespaces ?? (schedule.template.includedNamespaces as string[] | undefined) ?? [];
  if (namespaces.length === 0) throw new Error(`schedule ${schedule.name} names no namespaces; pass --namespace`);
  const report: BackupReport = {
    namespaces: [...namespaces],
    from: o.namespaces ? "--namespace" : `the tree's schedule ${TREE_NAMESPACE}/${schedule.name}`,
    phases: [],
  };
  let t = performance.now();
  const phase = (what: string) => {
    const seconds = (performance.now() - t) / 1000;
    report.phases.push({ what, seconds });
    o.progress(`${seconds.toFixed(1)} s  ${what}`);
    t = performance.now();
  };

  const work = await mkdtemp(join(tmpdir(), "ktsw-backup-drill-"));
  const started: Started[] = [];
  const suspended: string[] = [];
  try {
    // The local S3 server and Velero, with the AWS plugin in a plugin folder of its own (Velero runs every file there).
    const s3Port = await freePort();
    const s3 = startDetached("s3", requireTool("gofakes3"), gofakes3Args(s3Port, join(work, "s3"), BUCKET), work);
    started.push(s3);
    const plugins = join(work, "plugins");
    const plugin = join(plugins, "velero-plugin-for-aws");
    await mkdir(plugins);
    await copyFile(requireSimTool("velero-plugin-for-aws", o.binFolder), plugin);
    await chmod(plugin, 0o755);
    await o.kubectl(["create", "namespace", DRILL_NAMESPACE]);
    await writeFile(join(work, "cloud"), credentials());
    await o.kubectl([
      "create",
      "secret",
      "generic",
      "drill-s3",
      "-n",
      DRILL_NAMESPACE,
      `--from-file=cloud=${join(work, "cloud")}`,
    ]);
    await o.kubectl(["apply", "-f", "-"], JSON.stringify(await drillLocation(o.kubectl, `http://127.0.0.1:${s3Port}`)));
    const velero = startDetached(
      "velero",
      requireSimTool("velero", o.binFolder),
      [
        "server",
        `--kubeconfig=${o.kubeconfig}`,
        `--namespace=${DRILL_NAMESPACE}`,
        `--plugin-dir=${plugins}`,
        `--metrics-address=127.0.0.1:${await freePort()}`,
        `--profiler-address=127.0.0.1:${await freePort()}`,
        "--log-format=json",
      ],
      work,
      { VELERO_NAMESPACE: DRILL_NAMESPACE },
    );
    started.push(velero);
    await waitReady(
      velero,
      "Velero to find the backup storage location available",
      async () => {
        const bsl = await json<ApiObject>(o.kubectl, [
          "get",
          "backupstoragelocations.velero.io",
          "default",
          "-n",
          DRILL_NAMESPACE,
        ]);
        return (bsl.status as { phase?: string } | undefined)?.phase === "Available";
      },
      o.timeoutMs,
    );
    phase("local S3 and the Velero server up; the tree's storage location Available");

    const before = declared(await inventory(o.kubectl, namespaces));
    for (const ref of await fluxOver(o.kubectl, namespaces)) {
      await suspend(o.kubectl, ref, true);
      suspended.push(ref);
    }
    const name = `drill-${Date.now()}`;
    const backup = {
      apiVersion: "velero.io/v1",
      kind: "Backup",
      metadata: { name, namespace: DRILL_NAMESPACE },
      spec: { ...schedule.template, includedNamespaces: namespaces, storageLocation: "default" },
    };
    await o.kubectl(["create", "-f", "-"], JSON.stringify(backup));
    report.backup = await finished(o, "backups.velero.io", name);
    phase(`backup ${name}: ${report.backup.phase}, ${before.length} declared objects in it`);
    if (report.backup.phase !== "Completed") {
      report.failure = `the backup ended ${report.backup.phase} (velero log: ${velero.log})`;
      return report;
    }

    await o.kubectl(["delete", "namespace", ...namespaces, "--wait=false"]);
    await poll(
      `namespaces ${namespaces.join(", ")} to be gone`,
      async () => (await inventory(o.kubectl, namespaces)).items.map((i) => `${i.kind}/${i.metadata.name}`),
      (left) => left.length === 0,
      { timeoutMs: o.timeoutMs, everyMs: 1_000, ...(o.signal ? { signal: o.signal } : {}) },
    );
    phase(`namespaces ${namespaces.join(", ")} deleted`);

    const restore = {
      apiVersion: "velero.io/v1",
      kind: "Restore",
      metadata: { name, namespace: DRILL_NAMESPACE },
      spec: { backupName: name },
    };
    await o.kubectl(["create", "-f", "-"], JSON.stringify(restore));
    report.restore = await finished(o, "restores.velero.io", name);
    phase(`restore ${name}: ${report.restore.phase}`);
    report.comparison = compare(before, await inventory(o.kubectl, namespaces));
    if (!isRunning(velero)) report.failure = `the Velero server exited (log: ${velero.log})`;
    return report;
  } catch (err) {
    if (o.signal?.aborted) {
      report.interrupted = true;
      return report;
    }
    throw err;
  } finally {
    // Velero first (its Restores carry a finalizer only it removes, and its sync would recreate deleted Backups),
    // then its namespace, then Flux resumed: whatever the restore did not bring back, Git does.
    await stopAll(started);
    await o.kubectl(["delete", "namespace", DRILL_NAMESPACE, "--ignore-not-found", "--wait=false"]).catch(() => "");
    await dropFinalizers(o.kubectl).catch(() => undefined);
    for (const ref of suspended) await suspend(o.kubectl, ref, false).catch(() => "");
    await rm(work, { recursive: true, force: true });
  }
}

/** Restores keep a finalizer the stopped server can no longer remove; without it the drill's namespace would hang. */
async function dropFinalizers(kubectl: Kubectl): Promise<void> {
  const list = await json<ApiList>(kubectl, ["get", "restores.velero.io", "-n", DRILL_NAMESPACE]);
  for (const r of list.items) {
    await kubectl([
      "patch",
      "restores.velero.io",
      r.metadata.name,
      "-n",
      DRILL_NAMESPACE,
      "--type=merge",
      "-p",
      '{"metadata":{"finalizers":null}}',
    ]);
  }
}
