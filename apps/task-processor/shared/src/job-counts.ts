import type pg from "pg";
import type { JobStatus } from "./contracts.ts";
import { inTransaction, q } from "./db.ts";

// Jobs by status for /v1/stats at a cost that does not grow with the table's history.
//
// - queued and running: counted whole, from the index of active jobs (bounded by the queue);
// - succeeded and failed: `finished_job_counts` (migration 004) holds how many finished jobs have
//   updated_at <= its watermark; the rows newer than the watermark are counted live, from the
//   (status, updated_at) index. Each load first moves the watermark forward (rolls up the rows
//   finished since) under the row's lock, so replicas loading at once never count a row twice.
//
// Exactness. A row's updated_at is its writer's transaction start (now()), so a transaction that
// commits later can leave a row behind a watermark that was already moved past it. The watermark
// therefore stays `lag` behind the loading transaction's own start: it assumes that every
// transaction writing a finished status commits within `lag` of its start, and that the server clock
// never steps back by more than `lag`. The writers are completeJob and failJob, a few statements
// each; a worker frozen for longer than `lag` between its BEGIN and COMMIT would break it, and the
// job would then be missing from `succeeded`/`failed` for good. Rows inside the lag are only
// counted live, never rolled up.
// Finished is final except for a replay (failed → queued): reopenFailedJob takes a job that is
// already rolled up out of the counts in its own transaction, holding the row's lock until it
// commits, so no roll-forward can count the job as failed after the replay decided not to.

/** The lag's default: as long as the "finished in the last minute" window, which has to be counted live anyway. */
export const FINISH_COMMIT_BOUND_MS = 60_000;

export interface JobCounts {
  counts: Record<JobStatus, number>;
  finishedLastMinute: number;
}

/**
 * Rolls the rows finished in (watermark, now() - lag] into the counts, unless another transaction
 * holds the counts' row (a replica rolling forward, a replay): then that one keeps them exact.
 * The SKIP LOCKED statement comes first, so the counting statement's snapshot sees every
 * transaction that committed while holding the row.
 */
export const WATERMARK_WINDOW_SQL = `SELECT watermark::text AS from_at,
       greatest(watermark, now() - make_interval(secs => $1::float8 / 1000))::text AS to_at
FROM finished_job_counts FOR UPDATE SKIP LOCKED`;

export const ROLL_FORWARD_SQL = `UPDATE finished_job_counts SET watermark = $2::timestamptz,
  succeeded = succeeded + (SELECT count(*) FROM jobs
                           WHERE status = 'succeeded' AND updated_at > $1::timestamptz AND updated_at <= $2::timestamptz),
  failed = failed + (SELECT count(*) FROM jobs
                     WHERE status = 'failed' AND updated_at > $1::timestamptz AND updated_at <= $2::timestamptz)`;

/** What no roll-up holds: the active jobs, and the finished ones newer than the watermark ($1) or the last minute. */
export const LIVE_COUNTS_SQL = `WITH active AS (
  SELECT count(*) FILTER (WHERE status = 'queued') AS queued, count(*) FILTER (WHERE status = 'running') AS running
  FROM jobs WHERE status IN ('queued', 'running')
), finished AS (
  SELECT count(*) FILTER (WHERE status = 'succeeded' AND updated_at > $1::timestamptz) AS succeeded,
         count(*) FILTER (WHERE status = 'failed' AND updated_at > $1::timestamptz) AS failed,
         count(*) FILTER (WHERE updated_at > now() - interval '60 seconds') AS recent
  FROM jobs
  WHERE status IN ('succeeded', 'failed') AND updated_at > least($1::timestamptz, now() - interval '60 seconds')
)
SELECT queued, running, succeeded, failed, recent FROM active, finished`;

/** Moves the watermark forward; false when another transaction held the counts (nothing done). */
export async function rollForwardFinished(pool: pg.Pool, tracerName: string, lagMs: number): Promise<boolean> {
  return inTransaction(pool, async (c) => {
    const window = await q<{ from_at: string; to_at: string }>(
      c,
      tracerName,
      "SELECT finished_job_counts",
      WATERMARK_WINDOW_SQL,
      [lagMs],
    );
    const w = window.rows[0];
    if (!w) return false;
    // Timestamps travel as text: a JS Date would drop their microseconds.
    if (w.to_at !== w.from_at)
      await q(c, tracerName, "UPDATE finished_job_counts", ROLL_FORWARD_SQL, [w.from_at, w.to_at]);
    return true;
  });
}

/** The counts and the live rows read in one snapshot, so a concurrent roll-forward or replay is seen whole or not at all. */
export async function readJobCounts(pool: pg.Pool, tracerName: string): Promise<JobCounts> {
  return inTransaction(pool, async (c) => {
    await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const rolled = await q<{ watermark: string; succeeded: string; failed: string }>(
      c,
      tracerName,
      "SELECT finished_job_counts",
      "SELECT watermark::text AS watermark, succeeded, failed FROM finished_job_counts",
    );
    const r = rolled.rows[0];
    if (!r) throw new Error("finished_job_counts has no row (migration 004 inserts it)");
    // The watermark as a parameter of an unnamed statement, planned for its value: the planner sees
    // how few rows lie past it (a named prepared statement runs one generic plan, which cannot).
    const live = await q<Record<"queued" | "running" | "succeeded" | "failed" | "recent", string>>(
      c,
      tracerName,
      "SELECT jobs",
      LIVE_COUNTS_SQL,
      [r.watermark],
    );
    const l = live.rows[0];
    if (!l) throw new Error("the live job counts returned no row");
    return {
      counts: {
        queued: Number(l.queued),
        running: Number(l.running),
        succeeded: Number(r.succeeded) + Number(l.succeeded),
        failed: Number(r.failed) + Number(l.failed),
      },
      finishedLastMinute: Number(l.recent),
    };
  });
}

/** Jobs by status and finished in the last minute; `lagMs` as explained above (tests shorten it). */
export async function jobCounts(pool: pg.Pool, tracerName: string, lagMs = FINISH_COMMIT_BOUND_MS): Promise<JobCounts> {
  await rollForwardFinished(pool, tracerName, lagMs);
  return readJobCounts(pool, tracerName);
}
