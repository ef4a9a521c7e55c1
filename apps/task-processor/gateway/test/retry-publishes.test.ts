import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { describe, expect, test } from "vitest";
import { jobId } from "../src/ids.ts";

// The gateway commits a job's row before it publishes; when the publish fails and the row cannot be
// taken back, the row waits for its first run with no message. The client's retry (same key, same
// body: the Stripe semantics) must not be answered "accepted" while nothing will run it: it
// publishes the job again, and JetStream drops the copy when the first publish got through.

const secret = "retry-publishes-test-secret-0123456789";

describe.skipIf(skipReason)("a retried submission of a job that never got its message", () => {
  const s = useStack({ env: { JOB_ID_SECRET: secret } });

  test("publishes it, so it runs long before the stranded-job sweep would", async () => {
    const body = { type: "hash", payload: { data: "retried", rounds: 1 }, idempotencyKey: "order-7" };
    const id = jobId(secret, "dev-user", body.idempotencyKey);
    // What the first attempt left: its row committed, its publish lost, its row not taken back.
    await s.svc.pool.query(
      `INSERT INTO jobs (id, type, payload, status, submitted_by, created_at, updated_at)
       VALUES ($1, 'hash', $2, 'queued', 'dev-user', now(), now())`,
      [id, JSON.stringify(body.payload)],
    );
    const retry = await s.submit(body);
    expect(retry.status).toBe(202);
    expect(await retry.json()).toMatchObject({ id, duplicate: true });
    const job = await s.waitForStatus(id, "succeeded", 15_000);
    expect(job.attempts).toBe(1);
  });

  test("a retry of a job that already ran publishes nothing more", async () => {
    const body = { type: "hash", payload: { data: "ran", rounds: 1 }, idempotencyKey: "order-8" };
    const first = await s.submit(body);
    const { id } = (await first.json()) as { id: string };
    await s.waitForStatus(id, "succeeded");
    const published = async () => (await s.svc.nats.jsm.streams.info("JOBS")).state.last_seq;
    const before = await published();
    const retry = await s.submit(body);
    expect(await retry.json()).toMatchObject({ id, duplicate: true });
    expect(await published()).toBe(before);
  });
});
