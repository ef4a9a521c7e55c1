import { randomUUID } from "node:crypto";
import { skipReason, useMigratedPostgres } from "@ktsw/task-devstack/testkit";
import pg from "pg";
import { beforeEach, describe, expect, test } from "vitest";
import type { JobMessage } from "../src/contracts.ts";
import { claimJobs, completeJobs, failJob, inTransaction, recordJobs, reopenFailedJob, requeueJob } from "../src/db.ts";
import {
  type JobCounts,
  jobCounts,
  LIVE_COUNTS_SQL,
  ROLL_FORWARD_SQL,
  WATERMARK_WINDOW_SQL,
} from "../src/job-counts.ts";

// /v1/stats counts finished jobs from a roll-up plus the rows past its watermark. Whatever the
// interleaving of job transitions, replays and loads, its answer is the full count(*) it replaces.

const T = "job-counts-test";
const LEASE_MS = 30_000;

describe.skipIf(skipReason)("job counts from the finished jobs' roll-up", () => {
  const db = useMigratedPostgres(12);
  beforeEach(async () => {
    await db.pool.query("TRUNCATE job_results, jobs");
    await db.pool.query("UPDATE finished_job_counts SET watermark = '-infinity', succeeded = 0, failed = 0");
  });

  const message = (): JobMessage => ({
    id: randomUUID(),
    type: "wordstats",
    payload: { text: "count me" },
    submittedBy: "alice",
    submittedAt: new Date().toISOString(),
  });
  // The job path's writers as the gateway and the worker call them: the only lines naming them.
  const record = (m: JobMessage) => recordJobs(db.pool, T, [m], 1_000_000);
  const claim = async (m: JobMessage) => (await claimJobs(db.pool, T, [m], LEASE_MS))[0];
  const complete = (id: string, output: unknown) => completeJobs(db.pool, T, [{ id, output }]);

  const submit = async () => {
    const m = message();
    await record(m);
    return m;
  };
  const claimed = async () => {
    const m = await submit();
    expect((await claim(m))?.kind).toBe("claimed");
    return m;
  };
  const replay = (id: string) => inTransaction(db.pool, (c) => reopenFailedJob(c, T, id, undefined));
  /** Finished jobs from the past: `n` rows of `status` whose updated_at lies `ageSec` seconds back and more. */
  const history = (n: number, status: "succeeded" | "failed", ageSec = 3_600) =>
    db.pool.query(
      `INSERT INTO jobs (id, type, payload, status, attempts, submitted_by, created_at, updated_at)
       SELECT gen_random_uuid(), 'wordstats', '{}', $2, 1, 'alice', t, t
       FROM (SELECT now() - make_interval(secs => $3 + i) AS t FROM generate_series(1, $1) i) s`,
      [n, status, ageSec],
    );

  /** What the roll-up replaces: a full count by status, and the finished jobs of the last minute. */
  const fullCount = async (): Promise<JobCounts> => {
    const { rows } = await db.pool.query<{ status: keyof JobCounts["counts"]; n: number; recent: number }>(
      `SELECT status, count(*)::int AS n,
              count(*) FILTER (WHERE updated_at > now() - interval '60 seconds')::int AS recent
       FROM jobs GROUP BY status`,
    );
    const counts = { queued: 0, running: 0, succeeded: 0, failed: 0 };
    let finishedLastMinute = 0;
    for (const r of rows) {
      counts[r.status] = r.n;
      if (r.status === "succeeded" || r.status === "failed") finishedLastMinute += r.recent;
    }
    return { counts, finishedLastMinute };
  };
  const rollup = async () =>
    (
      await db.pool.query<{ watermark: Date; succeeded: number; failed: number }>(
        "SELECT watermark, succeeded::int, failed::int FROM finished_job_counts",
      )
    ).rows[0];
  /** The roll-up holds exactly the finished rows up to its watermark. */
  const expectRollupExact = async () => {
    const { rows } = await db.pool.query(
      `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
              count(*) FILTER (WHERE status = 'failed')::int AS failed
       FROM jobs, finished_job_counts WHERE updated_at <= watermark`,
    );
    const r = await rollup();
    expect({ succeeded: r?.succeeded, failed: r?.failed }, "roll-up vs the rows behind its watermark").toEqual(rows[0]);
  };
  /** A stats load (rolling up to now() - lagMs) answers exactly what a full count answers. */
  const expectExact = async (lagMs: number, why: string) => {
    expect(await jobCounts(db.pool, T, lagMs), why).toEqual(await fullCount());
    await expectRollupExact();
  };

  test("after inserts, claims, completions, failures, requeues and replays, a load equals count(*)", async () => {
    await history(40, "succeeded");
    await history(7, "failed");
    await expectExact(0, "first load: the history rolled up");
    expect(await rollup()).toMatchObject({ succeeded: 40, failed: 7 });

    const [a, b, c, d] = [await claimed(), await claimed(), await claimed(), await claimed()];
    await submit();
    await expectExact(0, "queued and running");
    await complete(a.id, { ok: 1 });
    await failJob(db.pool, T, b.id, "boom");
    await requeueJob(db.pool, T, c.id, "retry");
    // Rows finishing now are counted live while the lag keeps them out of the roll-up.
    await expectExact(60_000, "finished inside the lag");
    await expectExact(0, "finished, then rolled up");
    await failJob(db.pool, T, d.id, "boom");

    // A replay of a failed job already in the roll-up takes it out; of one not rolled up yet, only live.
    const oldFailed = (await db.pool.query("SELECT id FROM jobs WHERE status = 'failed' ORDER BY updated_at LIMIT 1"))
      .rows[0].id;
    expect(await replay(oldFailed)).toBeDefined();
    expect(await replay(d.id)).toBeDefined();
    await expectExact(60_000, "replays of a rolled-up and a live failure");
    expect(await rollup()).toMatchObject({ failed: 7 }); // 7 old + b - the replayed old one
    expect(await claim(d)).toMatchObject({ kind: "claimed" });
    await complete(d.id, { second: "time" });
    expect(await replay(b.id)).toBeDefined();
    await expectExact(0, "a replayed job finished again; another replay");
    await expectExact(0, "a load with nothing new");
  });

  test("a failure whose transaction commits after its now(), within the lag, is counted once", async () => {
    const m = await claimed();
    await history(5, "failed");
    await expectExact(0, "before");
    // A worker's failJob that began now and commits only after stats loads ran.
    const late = new pg.Client({ connectionString: db.server.url });
    await late.connect();
    try {
      await late.query("BEGIN");
      await failJob(late as unknown as pg.PoolClient, T, m.id, "late");
      // Loads meanwhile: the row is still `running` to them, and the watermark stays behind its now().
      await expectExact(60_000, "while the failure is uncommitted");
      await expectExact(60_000, "again");
      await late.query("COMMIT");
    } finally {
      await late.end();
    }
    await expectExact(60_000, "committed, inside the lag: counted live");
    await expectExact(0, "rolled up");
    expect(await rollup()).toMatchObject({ failed: 6 });
  });

  test("the bound is real: with no lag, a transaction still open behind the watermark is missed", async () => {
    // Why the watermark keeps its lag: this is the miss the lag exists to rule out.
    const m = await claimed();
    const late = new pg.Client({ connectionString: db.server.url });
    await late.connect();
    try {
      await late.query("BEGIN");
      await late.query("UPDATE jobs SET status = 'succeeded', updated_at = now() WHERE id = $1", [m.id]);
      await jobCounts(db.pool, T, 0);
      await late.query("COMMIT");
    } finally {
      await late.end();
    }
    const answer = await jobCounts(db.pool, T, 0);
    expect(answer.counts.succeeded).toBe((await fullCount()).counts.succeeded - 1);
  });

  // Finished is final (but for a replay): a late second completion or failure, as a run that
  // overlapped another after its lease ran out delivers, must not move a counted row past the watermark.
  test("completing or failing a job again once it is finished and rolled up changes neither it nor the counts", async () => {
    const [ok, bad] = [await claimed(), await claimed()];
    await complete(ok.id, { first: true });
    await failJob(db.pool, T, bad.id, "first reason");
    await expectExact(0, "rolled up");
    const before = (await db.pool.query("SELECT * FROM jobs ORDER BY id")).rows;
    await complete(ok.id, { second: true });
    await failJob(db.pool, T, bad.id, "second reason");
    await failJob(db.pool, T, ok.id, "a failure after success");
    await complete(bad.id, { success: "after failure" });
    expect((await db.pool.query("SELECT * FROM jobs ORDER BY id")).rows).toEqual(before);
    await expectExact(60_000, "after the late verdicts");
  });

  test("a replay never fails on the roll-up's bookkeeping, and resetting the roll-up recounts it", async () => {
    await history(1, "failed");
    await expectExact(0, "rolled up");
    // As if a writer had broken the bound: the roll-up misses the failed job it should hold.
    await db.pool.query("UPDATE finished_job_counts SET failed = 0");
    const id = (await db.pool.query("SELECT id FROM jobs")).rows[0].id as string;
    expect(await replay(id)).toBeDefined();
    expect(await rollup()).toMatchObject({ failed: -1 });
    // The repair the README names: back to nothing counted, and the next load counts it all again.
    await db.pool.query("UPDATE finished_job_counts SET watermark = '-infinity', succeeded = 0, failed = 0");
    await expectExact(0, "recounted");
  });

  test("loads at once, as replicas would run them, never count a finished job twice", async () => {
    await history(300, "succeeded");
    await history(30, "failed");
    for (let round = 0; round < 5; round++) {
      const running = await Promise.all(Array.from({ length: 4 }, () => claimed()));
      await Promise.all(running.map((m, i) => (i % 2 ? failJob(db.pool, T, m.id, "x") : complete(m.id, i))));
      const truth = await fullCount();
      const answers = await Promise.all(Array.from({ length: 8 }, () => jobCounts(db.pool, T, 0)));
      for (const a of answers) expect(a, `round ${round}`).toEqual(truth);
      await expectRollupExact();
    }
  });

  test("a load while another transaction holds the roll-up (a replica rolling forward) neither waits nor miscounts", async () => {
    await history(20, "succeeded");
    await expectExact(0, "rolled up");
    await complete((await claimed()).id, 1);
    const before = await rollup();
    const holder = await db.pool.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM finished_job_counts FOR UPDATE");
      expect(await jobCounts(db.pool, T, 0)).toEqual(await fullCount());
      expect(await rollup(), "the held roll-up is left alone").toEqual(before);
    } finally {
      await holder.query("ROLLBACK");
      holder.release();
    }
    await expectExact(0, "after");
  });

  // A replay decides whether its job leaves the roll-up by the watermark; a roll-forward while the
  // replay is uncommitted still sees the job failed. Both rolled-up and not-yet-rolled-up jobs.
  test.each([
    { kind: "rolled up", lagBefore: 0 },
    { kind: "not rolled up yet", lagBefore: 60_000 },
  ])("a replay of a $kind job in flight, loads meanwhile: exact before and after its commit", async (c) => {
    await history(9, "failed");
    await failJob(db.pool, T, (await claimed()).id, "recent");
    await expectExact(c.lagBefore, "before");
    const id = (await db.pool.query("SELECT id FROM jobs WHERE status = 'failed' ORDER BY updated_at DESC LIMIT 1"))
      .rows[0].id as string;
    const replaying = await db.pool.connect();
    try {
      await replaying.query("BEGIN");
      expect(await reopenFailedJob(replaying, T, id, undefined)).toBeDefined();
      // As while the replay waits for JetStream's PubAck: the job is still failed to everyone else.
      await expectExact(0, "replay uncommitted");
      await replaying.query("COMMIT");
    } finally {
      replaying.release();
    }
    await expectExact(0, "replay committed");
    expect(await rollup()).toMatchObject({ failed: 9 });
  });

  test("the stats statements read indexes, never the whole jobs table", async () => {
    // A history far larger than what is active or recent, as in production.
    await history(6_000, "succeeded", 3_600);
    await history(300, "failed", 3_600);
    for (let i = 0; i < 30; i++) await submit();
    for (let i = 0; i < 10; i++) await complete((await claimed()).id, i);
    await jobCounts(db.pool, T, 60_000);
    await db.pool.query("ANALYZE jobs");
    const plan = async (sql: string, params: unknown[]) =>
      (await db.pool.query<{ "QUERY PLAN": string }>(`EXPLAIN ${sql}`, params)).rows
        .map((r) => r["QUERY PLAN"])
        .join("\n");
    const { rows } = await db.pool.query<{ watermark: string; to_at: string }>(
      "SELECT watermark::text, now()::text AS to_at FROM finished_job_counts",
    );
    const w = rows[0];
    if (!w) throw new Error("no roll-up row");
    const plans = {
      window: await plan(WATERMARK_WINDOW_SQL, [60_000]),
      rollForward: await plan(ROLL_FORWARD_SQL, [w.watermark, w.to_at]),
      live: await plan(LIVE_COUNTS_SQL, [w.watermark]),
    };
    expect((await db.pool.query("SHOW enable_seqscan")).rows[0].enable_seqscan).toBe("on");
    for (const [name, p] of Object.entries(plans)) {
      expect(p, `${name} plan`).not.toMatch(/Seq Scan on jobs/);
      if (name !== "window") expect(p, `${name} plan`).toMatch(/Index (Only )?Scan|Bitmap Index Scan/);
    }
  });
});
