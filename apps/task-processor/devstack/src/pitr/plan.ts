// The data drill's pure half: from where the backups go (an S3 object store, as CloudNativePG's
// barman-cloud plugin ObjectStore names it) to the exact argv of each barman-cloud program and the
// PostgreSQL settings of the primary and of a restore. No I/O here: drill.ts runs what this builds.

import type { PostgresSettings } from "../servers.ts";

/** An S3 object store as an ObjectStore's `spec.configuration` names it, with the Cluster's serverName. */
export interface ObjectStore {
  /** `destinationPath`: `s3://<bucket>`; barman keeps `<serverName>/base` and `<serverName>/wals` under it. */
  destinationPath: string;
  /** `endpointURL`: the S3 server (SeaweedFS in the cluster, a local one in the drill). */
  endpointUrl: string;
  /** the Cluster's name unless the ObjectStore's `serverName` overrides it */
  serverName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The barman-cloud programs the plugin's sidecar runs, as absolute paths. */
export interface BarmanTools {
  walArchive: string;
  walRestore: string;
  backup: string;
  backupList: string;
  restore: string;
  checkWalArchive: string;
}

export const barmanToolNames = {
  walArchive: "barman-cloud-wal-archive",
  walRestore: "barman-cloud-wal-restore",
  backup: "barman-cloud-backup",
  backupList: "barman-cloud-backup-list",
  restore: "barman-cloud-restore",
  checkWalArchive: "barman-cloud-check-wal-archive",
} as const satisfies Record<keyof BarmanTools, string>;

/** The bucket and server name of the tree: SeaweedFS' `cnpg-backups` bucket, the app database Cluster `task-db`. */
export const treeObjectStore = { destinationPath: "s3://cnpg-backups", serverName: "task-db" } as const;

/** The bucket of an `s3://<bucket>[/prefix]` destination path. */
export function bucketOf(destinationPath: string): string {
  const bucket = /^s3:\/\/([^/]+)/.exec(destinationPath)?.[1];
  if (!bucket) throw new Error(`${destinationPath} is not an s3://<bucket> path`);
  return bucket;
}

/** What a restore aims at: a point in time (recovery_target_time), or the end of the archived WAL. */
export type RecoveryTarget = { time: string } | "latest";

/** A string the shell reads back as exactly itself. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The credentials barman's S3 client (boto3) reads, as the plugin's sidecar gets them from the Secret. */
export function s3Env(store: ObjectStore): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey };
}

const cloudArgs = (store: ObjectStore) => ["--cloud-provider", "aws-s3", "--endpoint-url", store.endpointUrl];
const where = (store: ObjectStore) => [store.destinationPath, store.serverName];

/** barman-cloud-check-wal-archive: the archive is reachable and holds no other server's WAL (CNPG runs it first). */
export const checkWalArchiveArgs = (store: ObjectStore) => [...cloudArgs(store), ...where(store)];

/** barman-cloud-backup of the server on `port`: an online base backup, checkpoint right away. */
export const backupArgs = (store: ObjectStore, pg: { port: number; user: string }) => [
  ...cloudArgs(store),
  ...["--immediate-checkpoint", "-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.user, "-d", "postgres"],
  ...where(store),
];

export const backupListArgs = (store: ObjectStore) => [...cloudArgs(store), "--format", "json", ...where(store)];

/** barman-cloud-restore of `backupId` into `dataDir` (which must not exist yet or be empty). */
export const restoreArgs = (store: ObjectStore, backupId: string, dataDir: string) => [
  ...cloudArgs(store),
  ...where(store),
  backupId,
  dataDir,
];

/** A command line PostgreSQL runs through the shell, with the S3 credentials in its environment. */
function shellCommand(store: ObjectStore, program: string, args: string[], placeholders: string[]): string {
  const env = Object.entries(s3Env(store)).map(([k, v]) => `${k}=${shellQuote(v)}`);
  // %p and %f are PostgreSQL's own placeholders: left unquoted for it to substitute.
  return ["env", ...env, ...[program, ...args].map(shellQuote), ...placeholders].join(" ");
}

/** archive_command: each finished WAL segment to the object store, as the plugin's WAL archiver does. */
export const archiveCommand = (store: ObjectStore, tools: Pick<BarmanTools, "walArchive">) =>
  shellCommand(store, tools.walArchive, [...cloudArgs(store), ...where(store)], ["%p"]);

/** restore_command: each WAL segment a recovering server asks for, from the object store. */
export const restoreCommand = (store: ObjectStore, tools: Pick<BarmanTools, "walRestore">) =>
  shellCommand(store, tools.walRestore, [...cloudArgs(store), ...where(store)], ["%f", "%p"]);

/** The primary: continuous WAL archiving, and commit timestamps kept so the drill can name its target. */
export function primarySettings(store: ObjectStore, tools: Pick<BarmanTools, "walArchive">): PostgresSettings {
  return {
    wal_level: "replica",
    archive_mode: "on",
    archive_command: archiveCommand(store, tools),
    track_commit_timestamp: "on",
    // A base backup forces full-page writes for its own duration anyway; on, so replay never meets a torn page.
    full_page_writes: "on",
  };
}

/**
 * A server restored from a base backup (with recovery.signal in its data directory): WAL from the
 * object store up to the target, then promoted (CloudNativePG's recovery bootstrap does the same).
 * Archiving stays off: a restored server must not write into the archive it is restoring from
 * (CloudNativePG requires a new serverName for that).
 */
export function recoverySettings(
  store: ObjectStore,
  tools: Pick<BarmanTools, "walRestore">,
  target: RecoveryTarget,
): PostgresSettings {
  const common: PostgresSettings = {
    restore_command: restoreCommand(store, tools),
    archive_mode: "off",
    full_page_writes: "on",
  };
  if (target === "latest") return common;
  // Inclusive (PostgreSQL's default): a commit stamped exactly at the target is replayed, the first later one is not.
  return {
    ...common,
    recovery_target_time: target.time,
    recovery_target_inclusive: "on",
    recovery_target_action: "promote",
  };
}

/** The newest backup of barman-cloud-backup-list's JSON output (`{"backups_list": [...]}`), or an error. */
export function newestBackupId(listJson: string): string {
  const parsed = JSON.parse(listJson) as { backups_list?: { backup_id: string; status?: string }[] };
  const done = (parsed.backups_list ?? []).filter((b) => b.status === undefined || b.status === "DONE");
  const last = done
    .map((b) => b.backup_id)
    .sort()
    .at(-1);
  if (!last) throw new Error("the object store lists no finished base backup");
  return last;
}

/** Why a barman-cloud program failed, in the words an operator acts on, from its output. */
export function explainBarmanFailure(output: string, store: Pick<ObjectStore, "endpointUrl">): string {
  if (
    /Could not connect to the endpoint URL|EndpointConnectionError|Connection refused|Name or service not known/i.test(
      output,
    )
  )
    return `the S3 server at ${store.endpointUrl} is unreachable`;
  if (/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|Forbidden|\b403\b/i.test(output))
    return `the S3 server at ${store.endpointUrl} refused the credentials`;
  return "barman-cloud failed";
}

/** What a restored server holds: the drill's rows (null when the table is gone) and its log of steps. */
export interface DataState {
  rows: number[] | null;
  log: string[];
}

export interface DrillReport {
  steps: StepTiming[];
  /** the commit timestamp of the rows written before the target (PostgreSQL's text form, with its offset) */
  targetTime: string;
  rowsBefore: number[];
  rowsAfter: number[];
  atTarget: DataState;
  latest: DataState;
  /** the temp folders of every server the drill started (all removed by the time it returns) */
  folders: string[];
}

/**
 * What each restore must hold, as sentences; empty when both are exact. To the target time: exactly
 * the rows committed up to it (none written after), and not the destruction. Latest: every commit
 * whose WAL reached the archive, so the destruction too (the table is gone, its log line there):
 * "latest" replays a mistake as faithfully as the rest, which is why undoing one needs a target time.
 */
export function restoreProblems(report: DrillReport): string[] {
  const problems: string[] = [];
  const same = (a: number[] | null, b: number[]) =>
    a !== null && a.length === b.length && a.every((v, i) => v === b[i]);
  if (!same(report.atTarget.rows, report.rowsBefore))
    problems.push(
      `restore to ${report.targetTime}: expected rows ${report.rowsBefore[0]}..${report.rowsBefore.at(-1)} exactly, got ${describeRows(report.atTarget.rows)}`,
    );
  if (report.atTarget.log.includes("destroyed"))
    problems.push(`restore to ${report.targetTime}: the destruction was replayed`);
  if (report.latest.rows !== null)
    problems.push(`restore latest: the dropped table is back (${describeRows(report.latest.rows)})`);
  if (!report.latest.log.includes("destroyed"))
    problems.push("restore latest: the last commit (the destruction) is missing");
  return problems;
}

function describeRows(rows: number[] | null): string {
  if (rows === null) return "no table";
  if (rows.length === 0) return "no rows";
  return `${rows.length} rows (${rows[0]}..${rows.at(-1)})`;
}

/** One timed step of the drill. */
export interface StepTiming {
  step: string;
  seconds: number;
}

/** The report as a table: step | seconds. */
export function formatSteps(steps: StepTiming[]): string {
  const width = Math.max(4, ...steps.map((s) => s.step.length));
  const line = (a: string, b: string) => `| ${a.padEnd(width)} | ${b.padStart(7)} |`;
  return [
    line("step", "seconds"),
    `|${"-".repeat(width + 2)}|${"-".repeat(9)}|`,
    ...steps.map((s) => line(s.step, s.seconds.toFixed(2))),
  ].join("\n");
}
