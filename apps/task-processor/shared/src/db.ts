import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { JobMessage, JobStatus, JobView } from "./contracts.ts";
import { SpanKind, withSpan } from "./tracing.ts";

export type Pool = pg.Pool;
export type Client = pg.PoolClient;

export function createPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 10_000,
    // Only named (prepared) statements are affected, and only the hot path's are named (see `q`):
    // each is planned once per connection, not for every run (see ROW_BY_ID for why that is safe).
    options: "-c plan_cache_mode=force_generic_plan",
  });
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

/**
 * A query inside a client span, named like the semantic conventions ask (`db.operation db.table`).
 * `prepareAs` names a hot-path statement: each connection then parses, analyses and plans it once
 * (its text is sent once, too) and runs it by name. Its one plan (`plan_cache_mode`, set by
 * `createPool`) serves batches of every size: planning each run was half of what a small batch
 * cost PostgreSQL. Such a statement must read the jobs table by key only (ROW_BY_ID).
 */
export function q<R extends pg.QueryResultRow>(
  db: pg.Pool | pg.PoolClient,
  tracerName: string,
  name: string,
  sql: string,
  params: unknown[] = [],
  prepareAs?: string,
): Promise<pg.QueryResult<R>> {
  return withSpan(
    tracerName,
    name,
    { "db.system": "postgresql", "db.statement": sql },
    () => (prepareAs ? db.query<R>({ name: prepareAs, text: sql, values: params }) : db.query<R>(sql, params)),
    SpanKind.CLIENT,
  );
}

/**
 * Whether PostgreSQL refused a statement for its data (SQLSTATE class 22, data exception, or 23,
 * integrity constraint) rather than for being unreachable: in a batch, possibly one row's fault.
 */
export const isDataError = (err: unknown): boolean =>
  typeof (err as { code?: unknown })?.code === "string" && /^2[23]/.test((err as { code: string }).code);

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

/** What recording a submission found: a new job, a job already recorded under its id, or a caller at its limit. */
export type Recorded =
  | { kind: "inserted" }
  /** `unstarted`: still waiting for its first run (its first publish may have failed) */
  | { kind: "exists"; sameRequest: boolean; unstarted: boolean }
  | { kind: "at_limit" };

/**
 * One input row's job, read by its primary key: a statement reads it as `LEFT JOIN LATERAL
 * (${ROW_BY_ID} ...) j ON true`. The LIMIT keeps the planner from flattening it into a join it could
 * run as a hash join over the whole table: prepared once, a statement runs with one generic plan for
 * ever (see createPool), which must never scan the jobs table, whatever its size when it was made.
 */
const ROW_BY_ID = "SELECT jobs.* FROM jobs WHERE jobs.id = i.id";

/** A job (`j`) still waiting for its first run: never claimed, never retried, never replayed. */
const UNSTARTED = "(j.status = 'queued' AND j.attempts = 0 AND j.replays = 0)";

/**
 * The job messages of a batch as the five arrays every hot-path statement unnests first, in this
 * order: `$1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::timestamptz[]` (id, type, payload,
 * submitted_by, submitted_at).
 */
function messageColumns(messages: JobMessage[]): [string[], string[], string[], string[], string[]] {
  return [
    messages.map((m) => m.id),
    messages.map((m) => m.type),
    messages.map((m) => JSON.stringify(m.payload)),
    messages.map((m) => m.submittedBy),
    messages.map((m) => m.submittedAt),
  ];
}

/**
 * Records queued jobs, one statement for the batch (committed on its own: no transaction spans the
 * publish that follows), one answer per message in order. A job is not recorded when its submitter
 * already has `maxActive` jobs queued or running. A retried submission with the same id leaves the
 * first one untouched and learns whether it asked for the same type and payload (jsonb equality:
 * key order and spacing do not matter) and where that job is. Submissions in flight at once do not
 * see each other's rows, so the limit can be overshot by as many requests as are in flight.
 * Each id once per batch (callers batch with a key).
 */
export async function recordJobs(
  db: pg.Pool,
  tracerName: string,
  messages: JobMessage[],
  maxActive: number,
): Promise<Recorded[]> {
  const columns = messageColumns(messages);
  const payloads = columns[2];
  const res = await q<{ id: string; inserted: boolean; same: boolean | null; unstarted: boolean | null }>(
    db,
    tracerName,
    "INSERT jobs",
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::timestamptz[])
         AS i(id, type, payload, submitted_by, submitted_at)
     ), active AS (
       -- Each submitter's active jobs counted once per batch (up to the limit), not once per row.
       SELECT s.submitted_by,
              (SELECT count(*) FROM (SELECT 1 FROM jobs
                                     WHERE jobs.submitted_by = s.submitted_by AND status IN ('queued', 'running')
                                     LIMIT $6) a) AS n
       FROM (SELECT DISTINCT submitted_by FROM input) s
     ), inserted AS (
       INSERT INTO jobs (id, type, payload, status, submitted_by, created_at, updated_at)
       SELECT id, type, payload, 'queued', input.submitted_by, submitted_at, submitted_at
       FROM input JOIN active ON active.submitted_by = input.submitted_by
       WHERE active.n < $6
       ORDER BY id
       ON CONFLICT (id) DO NOTHING
       RETURNING id
     )
     SELECT i.id, ins.id IS NOT NULL AS inserted, j.type = i.type AND j.payload = i.payload AS same,
            ${UNSTARTED} AS unstarted
     FROM input i
     LEFT JOIN inserted ins ON ins.id = i.id
     LEFT JOIN LATERAL (${ROW_BY_ID} AND ins.id IS NULL LIMIT 1) j ON true`,
    [...columns, maxActive],
    "record_jobs",
  );
  const byId = new Map(res.rows.map((r) => [r.id, r]));
  return Promise.all(
    messages.map(async (m, i): Promise<Recorded> => {
      const r = byId.get(m.id);
      if (r?.inserted) return { kind: "inserted" };
      if (r?.unstarted != null) return { kind: "exists", sameRequest: r.same === true, unstarted: r.unstarted };
      // Nothing inserted and nothing seen: the limit held it back, or the same id was committed by
      // a concurrent submission after this statement's snapshot was taken. A fresh look tells which.
      const again = await q<{ same: boolean; unstarted: boolean }>(
        db,
        tracerName,
        "SELECT jobs",
        `SELECT type = $2 AND payload = $3::jsonb AS same, ${UNSTARTED} AS unstarted FROM jobs j WHERE id = $1`,
        [m.id, m.type, payloads[i]],
      );
      const seen = again.rows[0];
      return seen ? { kind: "exists", sameRequest: seen.same, unstarted: seen.unstarted } : { kind: "at_limit" };
    }),
  );
}

/**
 * Takes back a job recorded by a submission whose publish failed (the caller is told 503), unless
 * a worker has it already (the publish reached JetStream after all). True when it was removed.
 */
export async function withdrawQueued(db: pg.Pool, tracerName: string, id: string): Promise<boolean> {
  const res = await q(db, tracerName, "DELETE jobs", `DELETE FROM jobs j WHERE id = $1 AND ${UNSTARTED}`, [id]);
  return res.rowCount === 1;
}

const MAX_UUID = "ffffffff-ffff-ffff-ffff-ffffffffffff";

/** Where a sweep of queued jobs got to: submission time, then id (many jobs share a millisecond). */
export interface SweepPosition {
  at: Date;
  id: string;
}

/**
 * Jobs still waiting for their first run, submitted after `after` and at least `ageMs` ago (by
 * the database's clock), oldest first, at most `limit`: what the stranded-job sweep publishes
 * again. `next` is where the next sweep carries on.
 */
export async function firstRunsQueuedBetween(
  db: pg.Pool,
  tracerName: string,
  after: SweepPosition,
  ageMs: number,
  limit: number,
): Promise<{ messages: JobMessage[]; next: SweepPosition }> {
  type Row = {
    bound: Date;
    id: string | null;
    type: string;
    payload: unknown;
    submitted_by: string;
    created_at: Date;
    updated_at: Date;
  };
  // One row with the bound alone when no job qualifies (the LEFT JOIN), so the sweep always learns it.
  const res = await q<Row>(
    db,
    tracerName,
    "SELECT jobs",
    `WITH b AS (SELECT now() - make_interval(secs => $2::float8 / 1000) AS bound)
     SELECT b.bound, due.* FROM b LEFT JOIN LATERAL (
       SELECT j.id, j.type, j.payload, j.submitted_by, j.created_at, j.updated_at FROM jobs j
       WHERE ${UNSTARTED} AND (j.updated_at, j.id) > ($1, $4::uuid) AND j.updated_at <= b.bound
       ORDER BY j.updated_at, j.id LIMIT $3
     ) due ON true`,
    [after.at, ageMs, limit, after.id],
  );
  const rows = res.rows.filter((r) => r.id !== null);
  const messages = rows.map(
    (r) =>
      ({
        id: r.id,
        type: r.type,
        payload: r.payload,
        submittedBy: r.submitted_by,
        submittedAt: r.created_at.toISOString(),
      }) as JobMessage,
  );
  const last = rows.at(-1);
  // A full page stops at its last row (the rest comes next time); otherwise everything up to the bound is done.
  const next =
    rows.length === limit && last
      ? { at: last.updated_at, id: last.id as string }
      : { at: res.rows[0]?.bound as Date, id: MAX_UUID };
  return { messages, next };
}

/** A job that is not a run's to move: over already, or claimed by a run elsewhere that still has it. */
export type Elsewhere = { kind: "finished" } | { kind: "leased"; retryInMs: number };

/** What a delivery's claim found: the job is this delivery's to run, or it is elsewhere. */
export type Claim = { kind: "claimed"; attempts: number } | Elsewhere;

/** What finishing an unclaimed run found: the job is now succeeded by it, or it is elsewhere. */
export type Finish = { kind: "completed"; attempts: number } | Elsewhere;

interface MoveRow {
  id: string;
  kind: string;
  attempts: number | null;
  lease_left_ms: number | null;
}

/**
 * The answer for each id, in order, from the rows of a claim or a finish: `moved` where this run
 * moved the job, else over or leased. No row visible (a gateway took it back after a publish that
 * reached JetStream after all) counts as leased: try again shortly.
 */
function movesOf<K extends "claimed" | "completed">(ids: string[], rows: MoveRow[], moved: K) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id): { kind: K; attempts: number } | Elsewhere => {
    const r = byId.get(id);
    if (r?.kind === moved) return { kind: moved, attempts: r.attempts ?? 0 };
    if (r?.kind === "finished") return { kind: "finished" };
    return { kind: "leased", retryInMs: r?.lease_left_ms ?? 0 };
  });
}

/**
 * Claims deliveries (one statement for the batch, one Claim per message, in order): queued → running, or running → running when the last claim's lease
 * (`leaseMs` since it, or since its last renewal) has run out, i.e. its worker died. A live lease
 * means another worker runs the job right now (a redelivery after NATS lost its consumer state):
 * running it here too would execute it twice. Inserting (rather than updating) covers a message
 * whose row is gone (a gateway took it back after a publish that reached JetStream after all).
 * `attempts` is the runs that already reached a verdict: a claim counts none, so a delivery lost to
 * an infrastructure failure (Postgres gone, a crash) does not use up the job's retry budget.
 */
export async function claimJobs(
  db: pg.Pool,
  tracerName: string,
  messages: JobMessage[],
  leaseMs: number,
): Promise<Claim[]> {
  // Each id once per statement (ON CONFLICT DO UPDATE may touch a row only once): callers batch
  // with a key. Rows are locked in id order, so two batches cannot deadlock on each other.
  const res = await q<MoveRow>(
    db,
    tracerName,
    "UPSERT jobs",
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::timestamptz[])
         AS i(id, type, payload, submitted_by, submitted_at)
     ), claimed AS (
       INSERT INTO jobs (id, type, payload, status, attempts, submitted_by, created_at, updated_at)
       SELECT id, type, payload, 'running', 0, submitted_by, submitted_at, now() FROM input ORDER BY id
       ON CONFLICT (id) DO UPDATE SET status = 'running', updated_at = now()
         WHERE jobs.status = 'queued'
            OR (jobs.status = 'running' AND jobs.updated_at <= now() - make_interval(secs => $6::float8 / 1000))
       RETURNING id, attempts
     )
     SELECT i.id,
            CASE WHEN c.id IS NOT NULL THEN 'claimed'
                 WHEN j.status IN ('succeeded', 'failed') THEN 'finished'
                 ELSE 'leased' END AS kind,
            coalesce(c.attempts, j.attempts, 0) AS attempts,
            GREATEST(0, ceil(extract(epoch FROM j.updated_at - now()) * 1000 + $6))::int AS lease_left_ms
     FROM input i
     LEFT JOIN claimed c ON c.id = i.id
     LEFT JOIN LATERAL (${ROW_BY_ID} AND c.id IS NULL LIMIT 1) j ON true`,
    [...messageColumns(messages), leaseMs],
    "claim_jobs",
  );
  return movesOf(
    messages.map((m) => m.id),
    res.rows,
    "claimed",
  );
}

/** Keeps a long run's claim alive (with the message's heartbeat), so no other worker takes it over. */
export async function renewClaim(db: pg.Pool, tracerName: string, id: string): Promise<void> {
  await q(db, tracerName, "UPDATE jobs", "UPDATE jobs SET updated_at = now() WHERE id = $1 AND status = 'running'", [
    id,
  ]);
}

/**
 * Writes each job's effect once and marks it succeeded: one statement for the batch, so one round
 * trip and one transaction (a data-modifying CTE runs whether or not the UPDATE reads it). Each id
 * once per batch. A job already finished stays as it is (a late second run's verdict changes
 * nothing): finished is final but for a replay, which the finished jobs' counts (job-counts.ts)
 * rely on.
 */
export async function completeJobs(
  db: pg.Pool,
  tracerName: string,
  done: { id: string; output: unknown }[],
): Promise<void> {
  await q(
    db,
    tracerName,
    "UPDATE jobs",
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::jsonb[]) AS i(id, output)
     ), effect AS (
       INSERT INTO job_results (job_id, output) SELECT id, output FROM input ORDER BY id
       ON CONFLICT (job_id) DO NOTHING
     )
     UPDATE jobs SET status = 'succeeded', result = i.output, error = NULL, attempts = jobs.attempts + 1,
       updated_at = now()
     FROM input i WHERE jobs.id = i.id AND jobs.status IN ('queued', 'running')`,
    [done.map((d) => d.id), done.map((d) => JSON.stringify(d.output))],
    "complete_jobs",
  );
}

/**
 * Finishes runs that were never claimed (a job type that is a plain function of its payload, see
 * `UNCLAIMED_TYPES` in the worker): queued → succeeded, or running → succeeded when the claim on
 * it ran out (its worker died), with the effect written once, only by the run that finishes the
 * job. A job already finished stays as it is and gets no second effect; a job another worker has
 * claimed and still runs is left to it (`leased`: hand the delivery back until its claim runs out).
 * A row that is gone (a gateway took it back after a publish that reached JetStream after all) is
 * inserted, as a claim would. One statement for the batch, one Finish per run, in order; each id
 * once per batch.
 */
export async function finishUnclaimed(
  db: pg.Pool,
  tracerName: string,
  runs: { message: JobMessage; output: unknown }[],
  leaseMs: number,
): Promise<Finish[]> {
  const res = await q<MoveRow>(
    db,
    tracerName,
    "UPSERT jobs",
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::timestamptz[], $6::jsonb[])
         AS i(id, type, payload, submitted_by, submitted_at, output)
     ), completed AS (
       INSERT INTO jobs (id, type, payload, status, attempts, result, submitted_by, created_at, updated_at)
       SELECT id, type, payload, 'succeeded', 1, output, submitted_by, submitted_at, now() FROM input ORDER BY id
       ON CONFLICT (id) DO UPDATE SET status = 'succeeded', result = excluded.result, error = NULL,
         attempts = jobs.attempts + 1, updated_at = now()
         WHERE jobs.status = 'queued'
            OR (jobs.status = 'running' AND jobs.updated_at <= now() - make_interval(secs => $7::float8 / 1000))
       RETURNING id, attempts
     ), effect AS (
       INSERT INTO job_results (job_id, output)
       SELECT i.id, i.output FROM input i JOIN completed c ON c.id = i.id ORDER BY i.id
       ON CONFLICT (job_id) DO NOTHING
     )
     SELECT i.id,
            CASE WHEN c.id IS NOT NULL THEN 'completed'
                 WHEN j.status IN ('succeeded', 'failed') THEN 'finished'
                 ELSE 'leased' END AS kind,
            c.attempts,
            GREATEST(0, ceil(extract(epoch FROM j.updated_at - now()) * 1000 + $7))::int AS lease_left_ms
     FROM input i
     LEFT JOIN completed c ON c.id = i.id
     LEFT JOIN LATERAL (${ROW_BY_ID} AND c.id IS NULL LIMIT 1) j ON true`,
    [...messageColumns(runs.map((r) => r.message)), runs.map((r) => JSON.stringify(r.output)), leaseMs],
    "finish_unclaimed_jobs",
  );
  return movesOf(
    runs.map((r) => r.message.id),
    res.rows,
    "completed",
  );
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
 * `queued`. `afterRun` counts the run that failed (a poison message never ran). A finished job
 * stays as it is, like in completeJob.
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
     WHERE id = $1 AND status IN ('queued', 'running')`,
    [id, error.slice(0, 2_000), afterRun ? 1 : 0],
  );
}

export interface ReopenedJob {
  message: JobMessage;
  /** how many times the job has been replayed, this one included */
  replays: number;
}

/**
 * Sends a failed job back to the queue for a replay (failed → queued) with a fresh retry budget;
 * undefined when the job is missing, not `submittedBy`'s, or not failed. `c` must be in a
 * transaction: a job the stats already rolled up (job-counts.ts) leaves their counts in it, and
 * their row stays locked until it commits.
 */
export async function reopenFailedJob(
  c: pg.PoolClient,
  tracerName: string,
  id: string,
  submittedBy: string | undefined,
): Promise<ReopenedJob | undefined> {
  const res = await q<{
    type: string;
    payload: unknown;
    submitted_by: string;
    created_at: Date;
    replays: number;
    failed_at: string;
  }>(
    c,
    tracerName,
    "UPDATE jobs",
    `UPDATE jobs j SET status = 'queued', attempts = 0, error = NULL, result = NULL, replays = j.replays + 1,
       updated_at = now()
     FROM (SELECT id, updated_at FROM jobs
           WHERE id = $1 AND status = 'failed' AND ($2::text IS NULL OR submitted_by = $2) FOR UPDATE) prior
     WHERE j.id = prior.id AND j.status = 'failed'
     RETURNING j.type, j.payload, j.submitted_by, j.created_at, j.replays, prior.updated_at::text AS failed_at`,
    [id, submittedBy ?? null],
  );
  const r = res.rows[0];
  if (!r) return undefined;
  // Always takes the counts' lock (a roll-forward skips them until this commits); decrements only
  // when the failure is behind the watermark, read after the lock so a roll-forward just committed counts.
  await q(
    c,
    tracerName,
    "UPDATE finished_job_counts",
    "UPDATE finished_job_counts SET failed = failed - (watermark >= $1::timestamptz)::int",
    [r.failed_at],
  );
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
