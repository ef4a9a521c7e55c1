import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { poll } from "@ktsw/cli/poll";
import { requireTool, whyMissing } from "@ktsw/cli/tools";
import { createPool } from "@ktsw/task-shared/db";
import {
  type RunningServer,
  runAsPostgresUser,
  type S3Server,
  servePostgres,
  startPostgres,
  startS3,
} from "../servers.ts";
import {
  type BarmanTools,
  backupArgs,
  backupListArgs,
  barmanToolNames,
  bucketOf,
  checkWalArchiveArgs,
  type DataState,
  type DrillReport,
  explainBarmanFailure,
  newestBackupId,
  type ObjectStore,
  primarySettings,
  type RecoveryTarget,
  recoverySettings,
  restoreArgs,
  type StepTiming,
  s3Env,
  treeObjectStore,
} from "./plan.ts";

// The data drill's I/O shell: point-in-time recovery with the programs CloudNativePG's barman-cloud
// plugin runs, against a real S3 server and real PostgreSQL servers, each step timed. plan.ts builds
// every command line; this runs them in order and cleans everything up, whatever happens.

export interface DrillOptions {
  /** An S3 server to use instead of starting SeaweedFS (the bad-input tests point this at a wrong one). */
  s3?: Pick<ObjectStore, "endpointUrl" | "accessKeyId" | "secretAccessKey">;
  /** rows written before and after the target time */
  rows?: number;
  /** progress lines, one per step */
  log?: (line: string) => void;
  /** how long each wait (archiving, recovery) may take */
  timeoutMs?: number;
}

/** A failed drill step: the message names the step, then why. */
export class DrillStepError extends Error {
  override name = "DrillStepError";
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`data drill: step "${step}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The barman-cloud programs from the repository's pinned environment (MissingTool names the install step). */
export function barmanTools(): BarmanTools {
  const entries = Object.entries(barmanToolNames).map(([key, bin]) => [key, requireTool(bin)]);
  return Object.fromEntries(entries) as BarmanTools;
}

/** Every program the drill starts, for a preflight. */
export const drillPrograms = [
  "setpriv",
  "initdb",
  "postgres",
  "pg_isready",
  "gofakes3",
  ...Object.values(barmanToolNames),
] as const;

/**
 * Why the drill cannot run here, or undefined: a missing program (with its install step), or a
 * barman-cloud program the postgres user cannot run (PostgreSQL runs archive_command as itself, so
 * every folder above the repository's Python environment must be open to it).
 */
export async function whyDrillCannotRun(): Promise<string | undefined> {
  return whyMissing([...drillPrograms]) ?? (await postgresCannotRun(requireTool(barmanToolNames.walArchive)));
}

async function postgresCannotRun(program: string): Promise<string | undefined> {
  return runAsPostgresUser(program, ["--version"]).then(
    () => undefined,
    (err: Error) => `the postgres user cannot run ${program}: ${err.message.trim()}`,
  );
}

const DRILL_USER = "app"; // the lab's superuser (servers.ts' initdb -U app)

/** Runs a barman-cloud program as the postgres user with the store's credentials; a failure says why in S3 terms. */
async function barman(program: string, args: string[], store: ObjectStore): Promise<string> {
  try {
    return await runAsPostgresUser(program, args, s3Env(store));
  } catch (err) {
    const output = err instanceof Error ? err.message : String(err);
    const lastLines = output.trim().split("\n").slice(-3).join("\n");
    throw new Error(`${explainBarmanFailure(output, store)}\n${lastLines}`);
  }
}

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** The drill's rows and log as `pool`'s server holds them. */
async function readState(pool: ReturnType<typeof createPool>): Promise<DataState> {
  const log = (await pool.query("SELECT step FROM drill_log ORDER BY at, step")).rows.map((r) => r.step as string);
  const exists = (await pool.query("SELECT to_regclass('drill_rows') IS NOT NULL AS e")).rows[0]?.e as boolean;
  const rows = exists
    ? (await pool.query("SELECT id FROM drill_rows ORDER BY id")).rows.map((r) => r.id as number)
    : null;
  return { rows, log };
}

/** Runs the drill; every server and temp folder it made is gone when it returns or throws. */
export async function runDrill(opts: DrillOptions = {}): Promise<DrillReport> {
  const n = opts.rows ?? 100;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const log = opts.log ?? (() => {});
  const steps: StepTiming[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    log(`… ${name}`);
    const started = performance.now();
    try {
      const result = await run();
      steps.push({ step: name, seconds: (performance.now() - started) / 1000 });
      return result;
    } catch (err) {
      throw new DrillStepError(name, err);
    }
  };
  const folders: string[] = [];
  const stopLater = (server: RunningServer) => {
    folders.push(server.dir);
    cleanup.push(() => server.stop());
  };
  const pool = (server: RunningServer) => {
    const p = createPool(server.url, 2);
    cleanup.push(() => p.end());
    return p;
  };

  try {
    const tools = await step("find the barman-cloud programs", async () => {
      const found = barmanTools();
      const why = await postgresCannotRun(found.walArchive);
      if (why) throw new Error(why);
      return found;
    });
    const s3 =
      opts.s3 ??
      (await step("start the local S3 server", async () => {
        const server: S3Server = await startS3(bucketOf(treeObjectStore.destinationPath));
        stopLater(server);
        return { endpointUrl: server.url, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
      }));
    const store: ObjectStore = { ...treeObjectStore, ...s3 };

    // Before any WAL is archived, as CloudNativePG does: a wrong endpoint or key fails here, by name.
    await step("check the WAL archive (S3 reachable, credentials, empty)", () =>
      barman(tools.checkWalArchive, checkWalArchiveArgs(store), store),
    );
    const primary = await step("start PostgreSQL with WAL archiving to S3", async () => {
      const server = await startPostgres(undefined, primarySettings(store, tools));
      stopLater(server);
      return server;
    });
    const db = pool(primary);
    await db.query("CREATE TABLE drill_log (step text, at timestamptz DEFAULT clock_timestamp())");
    await step("base backup (barman-cloud-backup)", () =>
      barman(tools.backup, backupArgs(store, { port: primary.port, user: DRILL_USER }), store),
    );

    const rowsBefore = ids(1, n);
    const rowsAfter = ids(n + 1, n);
    const targetTime = await step("write rows, note the target time", async () => {
      await db.query("CREATE TABLE drill_rows (id int PRIMARY KEY, note text)");
      const { rows } = await db.query(
        "INSERT INTO drill_rows SELECT g, 'before' FROM generate_series($1::int, $2::int) g RETURNING xmin",
        [rowsBefore[0], rowsBefore.at(-1)],
      );
      const xmin = rows[0]?.xmin as string;
      // The commit's own timestamp, the one recovery compares recovery_target_time with.
      const ts = (await db.query("SELECT pg_xact_commit_timestamp($1::xid)::text AS ts", [xmin])).rows[0]?.ts as string;
      // The next commit must be stamped strictly later than the target (timestamps are microseconds).
      await poll(
        "the clock to pass the target time",
        async () => (await db.query("SELECT clock_timestamp() > $1::timestamptz AS later", [ts])).rows[0]?.later,
        (later) => later === true,
        { timeoutMs },
      );
      await db.query("INSERT INTO drill_rows SELECT g, 'after' FROM generate_series($1::int, $2::int) g", [
        rowsAfter[0],
        rowsAfter.at(-1),
      ]);
      return ts;
    });

    await step("destroy the data (DROP TABLE)", async () => {
      // One transaction: the drop and its log line are replayed together or not at all.
      await db.query("BEGIN; DROP TABLE drill_rows; INSERT INTO drill_log (step) VALUES ('destroyed'); COMMIT");
    });

    await step("archive the last WAL segment", async () => {
      const segment = (await db.query("SELECT pg_walfile_name(pg_switch_wal()) AS s")).rows[0]?.s as string;
      // The archiver's own view: a timeout shows the last segment archived and the last that failed.
      await poll(
        `WAL segment ${segment} in the archive`,
        async () => (await db.query("SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver")).rows[0],
        (r) => typeof r?.last_archived_wal === "string" && r.last_archived_wal >= segment,
        { timeoutMs },
      );
    });

    const backupId = await step("list the backups", async () =>
      newestBackupId(await barman(tools.backupList, backupListArgs(store), store)),
    );

    const restore = async (target: RecoveryTarget): Promise<DataState> => {
      const server = await servePostgres(
        "postgres-restored",
        undefined,
        recoverySettings(store, tools, target),
        async (data) => {
          await barman(tools.restore, restoreArgs(store, backupId, data), store);
          // recovery.signal: start as a server in targeted recovery (restore_command), then promote.
          await writeFile(join(data, "recovery.signal"), "");
        },
      );
      stopLater(server);
      const restored = pool(server);
      const { exited } = await poll(
        "the restored server to finish recovery and promote",
        async () => ({
          exited: server.process.exitCode,
          inRecovery:
            server.process.exitCode === null && (await restored.query("SELECT pg_is_in_recovery() AS r")).rows[0]?.r,
        }),
        (r) => r.exited !== null || r.inRecovery === false,
        { timeoutMs },
      );
      // PostgreSQL stops with FATAL when the WAL ends before the target: say so at once, not at the deadline.
      if (exited !== null) throw new Error(`the restored server exited with code ${exited} during recovery`);
      const state = await readState(restored);
      await restored.end();
      await server.stop();
      return state;
    };
    const atTarget = await step(`restore to ${targetTime}`, () => restore({ time: targetTime }));
    const latest = await step("restore latest (end of the archived WAL)", () => restore("latest"));

    return { steps, targetTime, rowsBefore, rowsAfter, atTarget, latest, folders };
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  }
}
