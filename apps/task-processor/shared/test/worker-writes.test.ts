import { randomUUID } from "node:crypto";
import { type RunningServer, startPostgres } from "@ktsw/task-devstack/servers";
import { skipReason } from "@ktsw/task-devstack/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { JobMessage } from "../src/contracts.ts";
import { createPool, migrate, type Pool, recordJobs, writeWorkerBatch } from "../src/db.ts";

// The worker's claims and completions share one statement: each item gets its own answer, in
// order, whatever else the statement carries, and the whole batch is one transaction.

const T = "worker-writes-test";
const LEASE_MS = 30_000;

describe.skipIf(skipReason)("writeWorkerBatch: claims and completions in one statement", () => {
  let server: RunningServer;
  let pool: Pool;

  beforeAll(async () => {
    server = await startPostgres();
    pool = createPool(server.url, 4);
    await migrate(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });
  beforeEach(async () => {
    await pool.query("TRUNCATE job_results, jobs");
  });

  const message = (): JobMessage => ({
    id: randomUUID(),
    type: "hash",
    payload: { data: "x", rounds: 1 },
    submittedBy: "alice",
    submittedAt: new Date().toISOString(),
  });
  const queued = async () => {
    const m = message();
    await recordJobs(pool, T, [m], 1_000_000);
    return m;
  };
  const write = (items: Parameters<typeof writeWorkerBatch>[2]) => writeWorkerBatch(pool, T, items, LEASE_MS);
  const row = async (id: string) =>
    (
      await pool.query(
        "SELECT status, attempts, result, (SELECT output FROM job_results WHERE job_id = $1) AS effect FROM jobs WHERE id = $1",
        [id],
      )
    ).rows[0];
  /** Transaction ids handed out so far; reading it takes one. */
  const xids = async () => Number((await pool.query("SELECT pg_current_xact_id()::text AS x")).rows[0].x);

  test("a mixed batch: each claim answered as its row stands, each completion written once, one transaction", async () => {
    const running = await queued();
    const finished = await queued();
    const leased = await queued();
    expect(await write([{ claim: running }, { claim: finished }, { claim: leased }])).toEqual([
      { kind: "claimed", attempts: 0 },
      { kind: "claimed", attempts: 0 },
      { kind: "claimed", attempts: 0 },
    ]);
    await write([{ complete: { id: finished.id, output: { n: 1 } } }]);
    const fresh = await queued();
    const missing = message(); // published, its row taken back: the claim inserts it

    const before = await xids();
    const answers = await write([
      { claim: fresh },
      { complete: { id: running.id, output: { digest: "abc" } } },
      { claim: finished },
      { claim: leased },
      { claim: missing },
    ]);
    expect(await xids()).toBe(before + 2); // the batch's transaction, then this reading's

    expect(answers[0]).toEqual({ kind: "claimed", attempts: 0 });
    expect(answers[1]).toBeUndefined();
    expect(answers[2]).toEqual({ kind: "finished" });
    expect(answers[3]).toMatchObject({ kind: "leased" });
    expect((answers[3] as { retryInMs: number }).retryInMs).toBeGreaterThan(LEASE_MS - 10_000);
    expect(answers[4]).toEqual({ kind: "claimed", attempts: 0 });

    expect(await row(running.id)).toEqual({
      status: "succeeded",
      attempts: 1,
      result: { digest: "abc" },
      effect: { digest: "abc" },
    });
    expect((await row(fresh.id)).status).toBe("running");
    expect((await row(missing.id)).status).toBe("running");
    expect(await row(finished.id)).toMatchObject({ status: "succeeded", result: { n: 1 } });
  });

  test("a completion of a job already finished changes nothing, beside claims or alone", async () => {
    const m = await queued();
    await write([{ claim: m }]);
    await write([{ complete: { id: m.id, output: { first: true } } }]);
    const other = await queued();
    expect(await write([{ complete: { id: m.id, output: { second: true } } }, { claim: other }])).toEqual([
      undefined,
      { kind: "claimed", attempts: 0 },
    ]);
    await write([{ complete: { id: m.id, output: { third: true } } }]);
    expect(await row(m.id)).toEqual({
      status: "succeeded",
      attempts: 1,
      result: { first: true },
      effect: { first: true },
    });
  });
});
