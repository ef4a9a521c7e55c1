import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { JobMessage, JobStatus, JobView } from "./contracts.ts";
import { SpanKind, withSpan } from "./tracing.ts";

export type Pool = pg.Pool;
export type Client = pg.PoolClient;

export function createPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 3_000, idleTimeoutMillis: 10_000 });
  // A client losing its server (a PostgreSQL restart sends 57P01 to every backend) must not crash
  // the process. pg-pool handles that only for idle clients; a client checked out at that moment
  // emits `error` with no listener, which Node turns into an uncaught exception. The query in
  // flight rejects with the same error, and the pool discards the broken client on release.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations/", import.meta.url));
// Any constant works; it only has to be the same for every replica running `migrate` at once.
const MIGRATION_LOCK = 7_465_312;

/** Applies pending migrations in order, once, under an advisory lock. Returns the ones applied. */
export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set(
      (await client.query("SELECT version FROM schema_migrations")).rows.map((r) => r.version as string),
    );
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(`${dir}/${file}`, "utf8");
      await client.query("BEGIN");
      try {
        await client.query(sql);
        await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [file]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(file);
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
  return applied;
}

/** A query inside a client span, named like the semantic conventions ask (`db.operation db.table`). */
export function q<R extends pg.QueryResultRow>(
  db: pg.Pool | pg.PoolClient,
  tracerName: string,
  name: string,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  return withSpan(
    tracerName,
    name,
    { "db.system": "postgresql", "db.statement": sql },
    () => db.query<R>(sql, params),
    SpanKind.CLIENT,
  );
}

/** Runs `fn` in a transaction; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const out = await fn(client);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

interface JobRow {
  id: string;
  type: string;
  status: JobStatus;
  attempts: number;
  result: unknown;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

export const toView = (r: JobRow): JobView => ({
  id: r.id,
  type: r.type,
  status: r.status,
  attempts: r.attempts,
  result: r.result ?? null,
  error: r.error,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/** The job `id` if `owner` submitted it: another caller's job reads exactly like no job at all. */
export async function findJob(
  db: pg.Pool,
  tracerName: string,
  id: string,
  owner: string,
): Promise<JobView | undefined> {
  const res = await q<JobRow>(db, tracerName, "SELECT jobs", "SELECT * FROM jobs WHERE id = $1 AND submitted_by = $2", [
    id,
    owner,
  ]);
  return res.rows[0] ? toView(res.rows[0]) : undefined;
}

/**
 * Records a queued job unless its submitter already has `maxActive` jobs queued or running; a
 * retried submission with the same id leaves the first one untouched. False when nothing was
 * inserted (`recordedAsRequested` tells a retry from a submitter at the limit). Concurrent
 * submissions of one submitter do not see each other's uncommitted rows, so the limit can be
 * overshot by as many requests as are in flight at once.
 */
export async function insertQueued(
  c: pg.PoolClient,
  tracerName: string,
  m: JobMessage,
  maxActive: number,
): Promise<boolean> {
  const res = await q(
    c,
    tracerName,
    "INSERT jobs",
    `INSERT INTO jobs (id, type, payload, status, submitted_by, created_at, updated_at)
     SELECT $1, $2, $3::jsonb, 'queued', $4, $5::timestamptz, $5::timestamptz
     WHERE (SELECT count(*) FROM (SELECT 1 FROM jobs WHERE submitted_by = $4 AND status IN ('queued', 'running')
                                  LIMIT $6) active) < $6
     ON CONFLICT (id) DO NOTHING`,
    [m.id, m.type, JSON.stringify(m.payload), m.submittedBy, m.submittedAt, maxActive],
  );
  return res.rowCount === 1;
}

/**
 * Whether the recorded job `m.id` was asked for with m's type and payload (jsonb equality, so key
 * order and spacing do not matter): an idempotency key reused with another request is not a retry.
 * Undefined when no job `m.id` is recorded.
 */
export async function recordedAsRequested(
  c: pg.PoolClient,
  tracerName: string,
  m: JobMessage,
): Promise<boolean | undefined> {
  const res = await q<{ same: boolean }>(
    c,
    tracerName,
    "SELECT jobs",
    "SELECT type = $2 AND payload = $3::jsonb AS same FROM jobs WHERE id = $1",
    [m.id, m.type, JSON.stringify(m.payload)],
  );
  return res.rows[0]?.same;
}

/** What a delivery's claim found: the job is this delivery's to run, already over, or running elsewhere. */
export type Claim =
  | { kind: "claimed"; attempts: number }
  | { kind: "finished" }
  | { kind: "leased"; retryInMs: number };

/**
 * Claims a delivery: queued → running, or running → running when the last claim's lease
 * (`leaseMs` since it, or since its last renewal) has run out, i.e. its worker died. A live lease
 * means another worker runs the job right now (a redelivery after NATS lost its consumer state):
 * running it here too would execute it twice. Inserting (rather than updating) covers a message
 * that overtook the gateway's commit: the insert waits on the uncommitted row.
 * `attempts` is the runs that already reached a verdict: a claim counts none, so a delivery lost to
 * an infrastructure failure (Postgres gone, a crash) does not use up the job's retry budget.
 */
export async function claimJob(db: pg.Pool, tracerName: string, m: JobMessage, leaseMs: number): Promise<Claim> {
  const res = await q<{ kind: "claimed" | "finished" | "leased"; attempts: number; lease_left_ms: number }>(
    db,
    tracerName,
    "UPSERT jobs",
    `WITH claimed AS (
       INSERT INTO jobs (id, type, payload, status, attempts, submitted_by, created_at, updated_at)
       VALUES ($1, $2, $3, 'running', 0, $4, $5, now())
       ON CONFLICT (id) DO UPDATE SET status = 'running', updated_at = now()
         WHERE jobs.status = 'queued'
            OR (jobs.status = 'running' AND jobs.updated_at <= now() - make_interval(secs => $6::float8 / 1000))
       RETURNING attempts
     )
     SELECT 'claimed' AS kind, attempts, 0 AS lease_left_ms FROM claimed
     UNION ALL
     SELECT CASE WHEN status IN ('succeeded', 'failed') THEN 'finished' ELSE 'leased' END, attempts,
            GREATEST(0, ceil(extract(epoch FROM updated_at - now()) * 1000 + $6))::int
     FROM jobs WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM claimed)`,
    [m.id, m.type, JSON.stringify(m.payload), m.submittedBy, m.submittedAt, leaseMs],
  );
  const r = res.rows[0];
  if (r?.kind === "claimed") return { kind: "claimed", attempts: r.attempts };
  if (r?.kind === "finished") return { kind: "finished" };
  // No row visible yet (the gateway's insert still uncommitted) counts as leased: try again shortly.
  return { kind: "leased", retryInMs: r?.lease_left_ms ?? 0 };
}

/** Keeps a long run's claim alive (with the message's heartbeat), so no other worker takes it over. */
export async function renewClaim(db: pg.Pool, tracerName: string, id: string): Promise<void> {
  await q(db, tracerName, "UPDATE jobs", "UPDATE jobs SET updated_at = now() WHERE id = $1 AND status = 'running'", [
    id,
  ]);
}

/** Writes the effect once and marks the job succeeded, in one transaction. */
export async function completeJob(db: pg.Pool, tracerName: string, id: string, output: unknown): Promise<void> {
  await inTransaction(db, async (c) => {
    await q(
      c,
      tracerName,
      "INSERT job_results",
      "INSERT INTO job_results (job_id, output) VALUES ($1, $2) ON CONFLICT (job_id) DO NOTHING",
      [id, JSON.stringify(output)],
    );
    await q(
      c,
      tracerName,
      "UPDATE jobs",
      `UPDATE jobs SET status = 'succeeded', result = $2, error = NULL, attempts = attempts + 1, updated_at = now()
       WHERE id = $1 AND status <> 'failed'`,
      [id, JSON.stringify(output)],
    );
  });
}

/** Hands a failed run back to the queue (running → queued), counting the attempt and keeping why it failed. */
export async function requeueJob(db: pg.Pool, tracerName: string, id: string, error: string): Promise<void> {
  await q(
    db,
    tracerName,
    "UPDATE jobs",
    "UPDATE jobs SET status = 'queued', error = $2, attempts = attempts + 1, updated_at = now() WHERE id = $1 AND status = 'running'",
    [id, error],
  );
}

/**
 * Marks a job failed with its reason: what every dead letter leaves behind, so nothing stays
 * `queued`. `afterRun` counts the run that failed (a poison message never ran).
 */
export async function failJob(
  db: pg.Pool | pg.PoolClient,
  tracerName: string,
  id: string,
  error: string,
  afterRun = true,
): Promise<void> {
  await q(
    db,
    tracerName,
    "UPDATE jobs",
    `UPDATE jobs SET status = 'failed', error = $2, attempts = attempts + $3, updated_at = now()
     WHERE id = $1 AND status <> 'succeeded'`,
    [id, error.slice(0, 2_000), afterRun ? 1 : 0],
  );
}

export async function jobCounts(db: pg.Pool, tracerName: string) {
  const res = await q<{ status: JobStatus; n: string; recent: string }>(
    db,
    tracerName,
    "SELECT jobs",
    `SELECT status, count(*) AS n, count(*) FILTER (WHERE updated_at > now() - interval '60 seconds') AS recent
     FROM jobs GROUP BY status`,
  );
  const counts: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
  let finishedLastMinute = 0;
  for (const r of res.rows) {
    counts[r.status] = Number(r.n);
    if (r.status === "succeeded" || r.status === "failed") finishedLastMinute += Number(r.recent);
  }
  return { counts, finishedLastMinute };
}

export interface ReopenedJob {
  message: JobMessage;
  /** how many times the job has been replayed, this one included */
  replays: number;
}

/**
 * Sends a failed job back to the queue for a replay (failed → queued) with a fresh retry budget;
 * undefined when the job is missing, not `submittedBy`'s, or not failed.
 */
export async function reopenFailedJob(
  c: pg.PoolClient,
  tracerName: string,
  id: string,
  submittedBy: string | undefined,
): Promise<ReopenedJob | undefined> {
  const res = await q<{ type: string; payload: unknown; submitted_by: string; created_at: Date; replays: number }>(
    c,
    tracerName,
    "UPDATE jobs",
    `UPDATE jobs SET status = 'queued', attempts = 0, error = NULL, result = NULL, replays = replays + 1,
       updated_at = now()
     WHERE id = $1 AND status = 'failed' AND ($2::text IS NULL OR submitted_by = $2)
     RETURNING type, payload, submitted_by, created_at, replays`,
    [id, submittedBy ?? null],
  );
  const r = res.rows[0];
  if (!r) return undefined;
  const message = {
    id,
    type: r.type,
    payload: r.payload,
    submittedBy: r.submitted_by,
    submittedAt: r.created_at.toISOString(),
  } as JobMessage;
  return { message, replays: r.replays };
}

/** A job's status and replay count, for telling a retried replay from a conflicting one. */
export async function replayState(
  db: pg.Pool | pg.PoolClient,
  tracerName: string,
  id: string,
  submittedBy: string | undefined,
): Promise<{ status: JobStatus; replays: number } | undefined> {
  const res = await q<{ status: JobStatus; replays: number }>(
    db,
    tracerName,
    "SELECT jobs",
    "SELECT status, replays FROM jobs WHERE id = $1 AND ($2::text IS NULL OR submitted_by = $2)",
    [id, submittedBy ?? null],
  );
  return res.rows[0];
}

/**
 * `owner`'s most recent jobs, newest first (at most `limit`), only those in `status` when given.
 * Served by `jobs_by_submitter_recent` (and its failed-only twin for the dead letters): a walk of
 * the newest index entries of one owner, never a scan of the table.
 */
export async function recentJobs(
  db: pg.Pool,
  tracerName: string,
  owner: string,
  opts: { limit: number; status?: JobStatus },
): Promise<JobView[]> {
  // The status filter is written into the statement only when given, so the planner sees a
  // `status = …` it can match to the failed-only partial index.
  const where = opts.status ? "submitted_by = $1 AND status = $3" : "submitted_by = $1";
  const res = await q<JobRow>(
    db,
    tracerName,
    "SELECT jobs",
    `SELECT * FROM jobs WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $2`,
    opts.status ? [owner, opts.limit, opts.status] : [owner, opts.limit],
  );
  return res.rows.map(toView);
}
