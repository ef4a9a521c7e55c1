import { randomUUID } from "node:crypto";
import { skipReason, useMigratedPostgres } from "@ktsw/task-devstack/testkit";
import { describe, expect, test } from "vitest";
import type { JobMessage } from "../src/contracts.ts";
import { claimJobs, failJob, finishUnclaimed, recordJobs } from "../src/db.ts";

// A run that was never claimed (hash, wordstats) finishes its job in one statement: only the run
// that moves the job to succeeded writes its effect; a job already over, or claimed and still run
// by another worker, is left as it is.

const T = "finish-unclaimed-test";
const LEASE_MS = 30_000;

describe.skipIf(skipReason)("finishUnclaimed on PostgreSQL", () => {
  const db = useMigratedPostgres(4);

  const message = (): JobMessage => ({
    id: randomUUID(),
    type: "hash",
    payload: { data: "finish me", rounds: 1 },
    submittedBy: "alice",
    submittedAt: new Date().toISOString(),
  });
  const recorded = async () => {
    const m = message();
    expect(await recordJobs(db.pool, T, [m], 1_000)).toEqual([{ kind: "inserted" }]);
    return m;
  };
  const row = async (id: string) =>
    (
      await db.pool.query<{ status: string; attempts: number; result: unknown; effects: number }>(
        `SELECT status, attempts, result, (SELECT count(*)::int FROM job_results WHERE job_id = $1) AS effects
         FROM jobs WHERE id = $1`,
        [id],
      )
    ).rows[0];

  test("a queued job is completed once: its result and one effect; a second run finds it finished", async () => {
    const m = await recorded();
    expect(await finishUnclaimed(db.pool, T, [{ message: m, output: { n: 1 } }], LEASE_MS)).toEqual([
      { kind: "completed", attempts: 1 },
    ]);
    expect(await row(m.id)).toEqual({ status: "succeeded", attempts: 1, result: { n: 1 }, effects: 1 });
    // A redelivery after a lost ack runs it again: the job and its effect stay as they were.
    expect(await finishUnclaimed(db.pool, T, [{ message: m, output: { n: 2 } }], LEASE_MS)).toEqual([
      { kind: "finished" },
    ]);
    expect(await row(m.id)).toEqual({ status: "succeeded", attempts: 1, result: { n: 1 }, effects: 1 });
  });

  test("a job another worker has claimed is left to it while its claim lives, and completed once it ran out", async () => {
    const m = await recorded();
    expect(await claimJobs(db.pool, T, [m], LEASE_MS)).toEqual([{ kind: "claimed", attempts: 0 }]);
    const [leased] = await finishUnclaimed(db.pool, T, [{ message: m, output: { n: 1 } }], LEASE_MS);
    expect(leased?.kind).toBe("leased");
    expect((leased as { retryInMs: number }).retryInMs).toBeGreaterThan(LEASE_MS - 10_000);
    expect((leased as { retryInMs: number }).retryInMs).toBeLessThanOrEqual(LEASE_MS);
    expect(await row(m.id)).toEqual({ status: "running", attempts: 0, result: null, effects: 0 });
    // With a lease of 0 ms the claim has run out: its worker is taken for dead.
    expect(await finishUnclaimed(db.pool, T, [{ message: m, output: { n: 1 } }], 0)).toEqual([
      { kind: "completed", attempts: 1 },
    ]);
    expect(await row(m.id)).toEqual({ status: "succeeded", attempts: 1, result: { n: 1 }, effects: 1 });
  });

  test("a failed job stays failed and gets no effect; a job whose row is gone is recorded as completed", async () => {
    const failed = await recorded();
    await failJob(db.pool, T, failed.id, "dead-lettered", false);
    const gone = message();
    expect(
      await finishUnclaimed(
        db.pool,
        T,
        [
          { message: failed, output: { n: 1 } },
          { message: gone, output: { n: 2 } },
        ],
        LEASE_MS,
      ),
    ).toEqual([{ kind: "finished" }, { kind: "completed", attempts: 1 }]);
    expect(await row(failed.id)).toEqual({ status: "failed", attempts: 0, result: null, effects: 0 });
    expect(await row(gone.id)).toEqual({ status: "succeeded", attempts: 1, result: { n: 2 }, effects: 1 });
    const { rows } = await db.pool.query("SELECT type, payload, submitted_by FROM jobs WHERE id = $1", [gone.id]);
    expect(rows).toEqual([{ type: "hash", payload: gone.payload, submitted_by: "alice" }]);
  });
});
