import { randomUUID } from "node:crypto";
import { type RunningServer, startPostgres } from "@ktsw/task-devstack/servers";
import { skipReason, useMigratedPostgres } from "@ktsw/task-devstack/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { JobMessage } from "../src/contracts.ts";
import { claimJobs, completeJobs, createPool, finishUnclaimed, type Pool, recordJobs } from "../src/db.ts";

// A PostgreSQL restart terminates every backend with 57P01. A client checked out of the pool at that
// moment must not take the process down; the pool hands out a working client afterwards. And the
// hot path's statements are prepared and planned once per connection, with plans that stay good as the table grows.

describe.skipIf(skipReason)("createPool when the server terminates a checked-out connection", () => {
  let server: RunningServer;
  let pool: Pool;
  let admin: pg.Client;
  beforeAll(async () => {
    server = await startPostgres();
    pool = createPool(server.url, 2);
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await pool?.end();
    await server?.stop();
  });

  test("the checked-out client's error is handled, its query rejects with 57P01, the next checkout works", async () => {
    const client = await pool.connect();
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on("uncaughtException", onUncaught);
    try {
      expect(client.listenerCount("error"), "a checked-out client needs its own error listener").toBeGreaterThan(0);
      const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
      const errored = new Promise<Error>((resolve) => client.once("error", resolve));
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      expect((await errored) as Error & { code?: string }).toMatchObject({ code: "57P01" });
      await expect(client.query("SELECT 1")).rejects.toThrow();
      expect(uncaught).toEqual([]);
    } finally {
      client.release(true);
      process.off("uncaughtException", onUncaught);
    }
    const { rows } = await pool.query("SELECT 1 AS ok");
    expect(rows).toEqual([{ ok: 1 }]);
  });
});

describe.skipIf(skipReason)("the hot path's statements on a pool's connection", () => {
  // One connection, so every call below and the look at its prepared statements share it.
  const db = useMigratedPostgres(1);

  test("are prepared once under their names and planned once, and the plan made on a small table looks jobs up by key on a big one", async () => {
    // A table's new statistics (autovacuum, ANALYZE) make PostgreSQL plan its statements again:
    // with autovacuum off, the plans made while the table is nearly empty are the ones used once it is big.
    await db.pool.query("ALTER TABLE jobs SET (autovacuum_enabled = false)");
    const message = (i: number): JobMessage => ({
      id: randomUUID(),
      type: "hash",
      payload: { data: `job ${i}`, rounds: 1 },
      submittedBy: "alice",
      submittedAt: new Date().toISOString(),
    });
    const round = async (i: number) => {
      // One job through a claim, one without.
      const [claimed, unclaimed] = [message(i), message(i)];
      expect(await recordJobs(db.pool, "pool-test", [claimed, unclaimed], 1_000)).toEqual([
        { kind: "inserted" },
        { kind: "inserted" },
      ]);
      expect(await claimJobs(db.pool, "pool-test", [claimed], 30_000)).toEqual([{ kind: "claimed", attempts: 0 }]);
      await completeJobs(db.pool, "pool-test", [{ id: claimed.id, output: { i } }]);
      expect(await finishUnclaimed(db.pool, "pool-test", [{ message: unclaimed, output: { i } }], 30_000)).toEqual([
        { kind: "completed", attempts: 1 },
      ]);
    };
    const finishedJobs = (n: number) =>
      db.pool.query(
        `INSERT INTO jobs (id, type, payload, status, submitted_by)
         SELECT gen_random_uuid(), 'hash', '{}', 'succeeded', 'bob' FROM generate_series(1, $1::int)`,
        [n],
      );
    // Small enough that reading it whole is cheap: a plan may choose to when the table is this size.
    await finishedJobs(2_000);
    // PostgreSQL's default (plan_cache_mode auto) weighs a generic plan against custom ones after the fifth run.
    const runs = 8;
    for (let i = 0; i < runs; i++) await round(i);
    await finishedJobs(50_000);
    const before = await sequentialScansOfJobs();
    await round(runs);
    expect(await sequentialScansOfJobs(), "a hot-path statement read the whole jobs table").toBe(before);
    const { rows } = await db.pool.query(
      "SELECT name, generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements ORDER BY name",
    );
    expect(rows).toEqual(
      ["claim_jobs", "complete_jobs", "finish_unclaimed_jobs", "record_jobs"].map((name) => ({
        name,
        generic: runs + 1,
        custom: 0,
      })),
    );
  });

  /** Sequential scans of `jobs` so far, this connection's included (it reports them when told to, once idle). */
  async function sequentialScansOfJobs(): Promise<number> {
    await db.pool.query("SELECT pg_stat_force_next_flush()");
    const { rows } = await db.pool.query<{ n: string }>(
      "SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relname = 'jobs'",
    );
    return Number(rows[0]?.n);
  }
});
