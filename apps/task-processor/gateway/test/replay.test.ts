import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { type StackHandle, skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { Redis } from "ioredis";
import { describe, expect, test } from "vitest";

// A dead letter is a failed job in Postgres, with its reason, that its owner can send back to the
// queue (POST /v1/jobs/{id}/replay) and an operator can replay with `npm run replay`.

const run = promisify(execFile);
const pkg = join(import.meta.dirname, "..");

const replay = async (s: StackHandle, id: string, token?: string) =>
  fetch(`${s.svc.gatewayUrl}/v1/jobs/${id}/replay`, {
    method: "POST",
    headers: { authorization: `Bearer ${token ?? (await s.token())}` },
  });

const submitOk = async (s: StackHandle, body: unknown) => {
  const res = await s.submit(body);
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
};

/** The dead letters stored for job `id`, oldest first. */
const deadLettersOf = async (s: StackHandle, id: string) => {
  const last = (await s.svc.nats.jsm.streams.info("JOBS_DLQ")).state.last_seq;
  const found = [];
  for (let seq = 1; seq <= last; seq++) {
    const m = await s.svc.nats.jsm.streams.getMessage("JOBS_DLQ", { seq }).catch(() => undefined);
    if (m && m.json<{ id?: string }>().id === id) found.push(m);
  }
  return found;
};

describe.skipIf(skipReason)("replaying dead letters", () => {
  const s = useStack({ env: { MAX_DELIVER: "1", BACKOFF_MS: "100" } });

  test("a dead-lettered job is failed with its reason; a replay runs it again from a fresh budget", async () => {
    const id = await submitOk(s, { type: "fail", payload: { reason: "upstream said no" } });
    const failed = await s.waitForStatus(id, "failed");
    expect(failed).toMatchObject({ attempts: 1, error: expect.stringMatching(/upstream said no/) });
    expect(await deadLettersOf(s, id)).toHaveLength(1);

    const res = await replay(s, id);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id, status: "queued", replays: 1, duplicate: false });
    // It ran again (attempt 1 of a fresh budget), failed again and was dead-lettered again.
    await expect.poll(async () => (await deadLettersOf(s, id)).length, { timeout: 20_000 }).toBe(2);
    expect(await s.waitForStatus(id, "failed")).toMatchObject({ attempts: 1 });
    const { rows } = await s.svc.pool.query("SELECT replays FROM jobs WHERE id = $1", [id]);
    expect(rows).toEqual([{ replays: 1 }]);
  });

  test("a replay drops the failed job's cached copy even when no living status replica made it", async () => {
    const id = await submitOk(s, { type: "fail", payload: { reason: "upstream said no" } });
    // Watched in Postgres, not through the status service: its replica would remember the job.
    const statusOf = async () =>
      (await s.svc.pool.query("SELECT status FROM jobs WHERE id = $1", [id])).rows[0]?.status;
    await expect.poll(statusOf, { timeout: 20_000 }).toBe("failed");
    // The copy a status replica that has since died left in Redis: no living replica remembers it.
    const { rows } = await s.svc.pool.query("SELECT submitted_by FROM jobs WHERE id = $1", [id]);
    const at = new Date().toISOString();
    const job = { id, type: "fail", status: "failed", attempts: 1, result: null, createdAt: at, updatedAt: at };
    const redis = new Redis(s.infra.redis.url, { maxRetriesPerRequest: 1 });
    try {
      const orphan = { owner: rows[0].submitted_by, job: { ...job, error: "copy of a replica that is gone" } };
      await redis.set(`task-processor:job:${id}`, JSON.stringify(orphan), "EX", 3_600);
      await expect
        .poll(async () => ((await (await s.getJob(id)).json()) as { error: string }).error)
        .toBe("copy of a replica that is gone");
      expect((await replay(s, id)).status).toBe(202);
      // Its TTL is an hour: only the replay's event can have dropped it.
      await expect
        .poll(async () => ((await (await s.getJob(id)).json()) as { error: string | null }).error, { timeout: 20_000 })
        .not.toBe("copy of a replica that is gone");
    } finally {
      redis.disconnect();
    }
  });

  test("only failed jobs replay: a succeeded job is 409, another owner's or an unknown job 404", async () => {
    const id = await submitOk(s, { type: "hash", payload: { data: "fine", rounds: 1 } });
    await s.waitForStatus(id, "succeeded");
    const conflict = await replay(s, id);
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ status: 409, jobStatus: "succeeded" });

    const mine = await submitOk(s, { type: "fail", payload: { reason: "mine" } });
    await s.waitForStatus(mine, "failed");
    expect((await replay(s, mine, await s.token({ sub: "someone-else" }))).status).toBe(404);
    expect((await replay(s, randomUUID())).status).toBe(404);
    expect((await replay(s, "not-a-job-id")).status).toBe(404);
  });

  test("replay needs the write scope", async () => {
    const id = await submitOk(s, { type: "fail", payload: { reason: "scoped" } });
    await s.waitForStatus(id, "failed");
    expect((await replay(s, id, await s.token({ scope: "jobs:read" }))).status).toBe(403);
    expect((await s.svc.pool.query("SELECT status FROM jobs WHERE id = $1", [id])).rows).toEqual([
      { status: "failed" },
    ]);
  });

  test("the replay command replays any owner's failed job and refuses others", async () => {
    const id = await submitOk(s, { type: "fail", payload: { reason: "for the operator" } });
    await s.waitForStatus(id, "failed");
    const env = { ...process.env, DATABASE_URL: s.infra.postgres.url, NATS_URL: s.infra.nats.url };
    const { stdout } = await run("npm", ["run", "--silent", "replay", "--", id], { cwd: pkg, env });
    expect(JSON.parse(stdout.trim())).toMatchObject({ id, kind: "replayed", replays: 1 });
    await expect.poll(async () => (await deadLettersOf(s, id)).length, { timeout: 20_000 }).toBe(2);
    const unknown = randomUUID();
    const refused = await run("npm", ["run", "--silent", "replay", "--", unknown], { cwd: pkg, env }).catch(
      (err: { code: number; stdout: string }) => err,
    );
    expect(refused).toMatchObject({ code: 1 });
    expect(JSON.parse(refused.stdout.trim())).toEqual({ id: unknown, kind: "not-found" });
  });
});

describe.skipIf(skipReason)("replaying a dead letter twice", () => {
  // A first failure waits a minute before its retry: the replayed job stays queued while this runs.
  const s = useStack({ env: { MAX_DELIVER: "2", BACKOFF_MS: "60000" } });

  test("a retried replay request queues nothing more and answers as the first did", async () => {
    const id = randomUUID();
    // As the worker leaves a dead letter: failed, with its reason.
    await s.svc.pool.query(
      `INSERT INTO jobs (id, type, payload, status, attempts, error, submitted_by)
       VALUES ($1, 'fail', '{"reason":"again"}', 'failed', 2, 'again (attempt 2)', 'dev-user')`,
      [id],
    );
    const queuedBefore = (await s.svc.nats.jsm.streams.info("JOBS")).state.last_seq;
    const first = await replay(s, id);
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ replays: 1, duplicate: false });
    const second = await replay(s, id);
    expect(second.status).toBe(202);
    expect(await second.json()).toMatchObject({ replays: 1, duplicate: true });
    expect((await s.svc.nats.jsm.streams.info("JOBS")).state.last_seq).toBe(queuedBefore + 1);
  });
});
