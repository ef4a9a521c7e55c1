// `ktsw sim drill backup`: the tree's nightly Velero backup, run now by the real Velero server against the sim, then
// the namespaces it covers deleted and restored from it. Velero runs as a process beside the sim, for the tree's
// `velero` namespace (its Deployment there is the chart's, which a restore reads, and admission exempts that
// namespace), with a storage location of the drill's: the tree's, pointed at a local S3 server instead of SeaweedFS.
// The backup's spec is the tree's schedule template, read from the sim; the schedule itself is left alone (the
// server runs without its schedule controller). Flux is suspended over the namespaces meanwhile, so what comes back
// came from the backup, not from Git. Everything the drill adds is labelled and removed. Analysis: backup-report.ts.
import { readdirSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gunzipSync } from "node:zlib";
import { poll } from "../../lab/net/poll.ts";
import { requireSimTool, requireTool } from "../../tools/find.ts";
import { gofakes3Args, standInKeys } from "../../tools/s3-stand-in.ts";
import type { Kubectl } from "../kubectl.ts";
import { freePort } from "../ports.ts";
import { isRunning, type Started, startDetached, stopAll, waitReady } from "../processes.ts";
import {
  type ApiList,
  type ApiObject,
  type BackupReport,
  compare,
  declared,
  type RestoreResults,
  restoreResultLines,
} from "./backup-report.ts";
import { deleteNamespaces, STUCK } from "./namespaces.ts";

export interface BackupOptions {
  kubectl: Kubectl;
  kubeconfig: string;
  binFolder: string;
  /** The sim's controller manager metrics port (its state): the drill waits on its namespace work queue. */
  controllerManagerPort: number;
  /** The namespaces to back up; default: those of the tree's schedule. */
  namespaces?: readonly string[];
  progress: (line: string) => void;
  /** How long each of backup, deletion and restore may take. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The tree's Velero namespace, where the drill's server works; what the drill adds there carries DRILL_LABEL. */
const TREE_NAMESPACE = "velero";
const DRILL_LABEL = "ktsw.dev/drill=backup";
const labels = { "ktsw.dev/drill": "backup" };
/** The drill's storage location (the tree's `default` points at SeaweedFS, which the sim does not run). */
const DRILL_LOCATION = "ktsw-drill";
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
    metadata: { name: DRILL_LOCATION, namespace: TREE_NAMESPACE, labels },
    spec: {
      ...spec,
      default: false,
      config: { ...spec.config, s3Url },
      credential: { name: DRILL_LOCATION, key: "cloud" },
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
  // All namespaces, filtered: `get namespaces NAME` answers one object, not a List.
  const all = await json<ApiList>(kubectl, ["get", "namespaces"]);
  return { items: [...all.items.filter((n) => namespaces.includes(n.metadata.name)), ...items] };
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
      (await json<ApiObject>(o.kubectl, ["get", resource, name, "-n", TREE_NAMESPACE])).status as Record<
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
    await removeDrillObjects(o.kubectl); // an interrupted earlier drill's, if any
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: DRILL_LOCATION, namespace: TREE_NAMESPACE, labels },
      stringData: { cloud: credentials() },
    };
    await o.kubectl(["apply", "-f", "-"], JSON.stringify(secret));
    await o.kubectl(["apply", "-f", "-"], JSON.stringify(await drillLocation(o.kubectl, `http://127.0.0.1:${s3Port}`)));
    const velero = startDetached(
      "velero",
      requireSimTool("velero", o.binFolder),
      [
        "server",
        `--kubeconfig=${o.kubeconfig}`,
        `--namespace=${TREE_NAMESPACE}`,
        "--disable-controllers=schedule",
        `--plugin-dir=${plugins}`,
        `--metrics-address=127.0.0.1:${await freePort()}`,
        `--profiler-address=127.0.0.1:${await freePort()}`,
        "--log-format=json",
      ],
      work,
      { VELERO_NAMESPACE: TREE_NAMESPACE },
    );
    started.push(velero);
    await waitReady(
      velero,
      "Velero to find the backup storage location available",
      async () => {
        const bsl = await json<ApiObject>(o.kubectl, [
          "get",
          "backupstoragelocations.velero.io",
          DRILL_LOCATION,
          "-n",
          TREE_NAMESPACE,
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
      metadata: { name, namespace: TREE_NAMESPACE, labels },
      spec: { ...schedule.template, includedNamespaces: namespaces, storageLocation: DRILL_LOCATION },
    };
    await o.kubectl(["create", "-f", "-"], JSON.stringify(backup));
    report.backup = await finished(o, "backups.velero.io", name);
    phase(`backup ${name}: ${report.backup.phase}, ${before.length} declared objects in it`);
    if (report.backup.phase !== "Completed") {
      report.failure = `the backup ended ${report.backup.phase}: ${veleroErrors(velero.log)}`;
      return report;
    }

    const { finalized, controllerWaitSeconds } = await deleteNamespaces(o, namespaces);
    phase(
      `namespaces ${namespaces.join(", ")} deleted${finalized.length > 0 ? `; finalized by the drill once empty: ${STUCK}` : ""}; the namespace controller idle ${controllerWaitSeconds.toFixed(1)} s after`,
    );

    const restore = {
      apiVersion: "velero.io/v1",
      kind: "Restore",
      metadata: { name, namespace: TREE_NAMESPACE, labels },
      spec: { backupName: name },
    };
    await o.kubectl(["create", "-f", "-"], JSON.stringify(restore));
    report.restore = await finished(o, "restores.velero.io", name);
    phase(`restore ${name}: ${report.restore.phase}`);
    if (report.restore.phase !== "Completed")
      report.failure = `the restore ended ${report.restore.phase}: ${veleroErrors(velero.log)}`;
    report.comparison = compare(before, await inventory(o.kubectl, namespaces));
    if (report.comparison.missing.length + report.comparison.changed.length > 0)
      report.restoreResults = readRestoreResults(join(work, "s3"), name);
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
    // then the drill's objects, then Flux resumed: whatever the restore did not bring back, Git does.
    await stopAll(started);
    await removeDrillObjects(o.kubectl).catch((err: Error) => o.progress(`drill objects left behind: ${err.message}`));
    for (const ref of suspended) await suspend(o.kubectl, ref, false).catch(() => "");
    await rm(work, { recursive: true, force: true });
  }
}

/** Removes what the drill added to the tree's namespace (by its label). Restores keep a finalizer only a running
 *  server removes: with the server stopped, the drill drops it. */
async function removeDrillObjects(kubectl: Kubectl): Promise<void> {
  const restores = await json<ApiList>(kubectl, ["get", "restores.velero.io", "-n", TREE_NAMESPACE, "-l", DRILL_LABEL]);
  for (const r of restores.items) {
    const patch = '{"metadata":{"finalizers":null}}';
    await kubectl(["patch", "restores.velero.io", r.metadata.name, "-n", TREE_NAMESPACE, "--type=merge", "-p", patch]);
  }
  const kinds = "restores.velero.io,backups.velero.io,backupstoragelocations.velero.io,secrets";
  await kubectl(["delete", kinds, "-n", TREE_NAMESPACE, "-l", DRILL_LABEL, "--ignore-not-found"]);
}

/** Velero's results of restore `name`, read from the local S3 server's folder (Velero uploads them there). */
function readRestoreResults(s3Folder: string, name: string): string[] {
  const file = `restore-${name}-results.gz`;
  const found = (readdirSync(s3Folder, { recursive: true }) as string[]).find((f) => f.endsWith(file));
  if (!found) return [`no ${file} in the local S3 server`];
  const lines = restoreResultLines(
    JSON.parse(gunzipSync(readFileSync(join(s3Folder, found))).toString()) as RestoreResults,
  );
  return lines.length > 20 ? [...lines.slice(0, 20), `… ${lines.length - 20} more`] : lines;
}

/** The error lines of Velero's JSON log (the last few), for a report that says why a run failed. */
function veleroErrors(log: string): string {
  const errors = readFileSync(log, "utf8")
    .split("\n")
    .flatMap((line) => {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        return entry.level === "error" ? [`${entry.msg ?? ""}${entry.error ? `: ${entry.error}` : ""}`] : [];
      } catch {
        return [];
      }
    });
  return errors.length > 0 ? errors.slice(-5).join("; ") : "Velero logged no error";
}
