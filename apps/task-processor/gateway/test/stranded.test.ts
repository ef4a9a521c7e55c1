import { randomUUID } from "node:crypto";
import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { pino } from "pino";
import { describe, expect, test } from "vitest";
import { startStrandedSweep, sweepAgeMs } from "../src/stranded.ts";

// The gateway commits a job's row before it publishes the message. A job whose gateway died in
// between is published by the stranded-job sweep before its deduplication window closes; a job
// whose first publish got through is published again too, and JetStream drops that copy.

describe("when a stranded job is published again", () => {
  test("inside the duplicate window, after any publish in flight has finished", () => {
    expect(sweepAgeMs({ dedupWindowMs: 120_000, intervalMs: 10_000, publishTimeoutMs: 3_000 })).toBe(104_000);
  });

  test("a window too short for the sweep is refused, naming the settings", () => {
    expect(() => sweepAgeMs({ dedupWindowMs: 20_000, intervalMs: 10_000, publishTimeoutMs: 3_000 })).toThrow(
      /DEDUP_WINDOW_MS \(20000\) must exceed STRANDED_SWEEP_MS \(10000\) plus four times PUBLISH_TIMEOUT_MS \(3000\)/,
    );
  });
});

// A short duplicate window so the sweep is due in seconds; the gateway's own sweep is off and this
// test runs one by hand.
const timing = { dedupWindowMs: 10_000, intervalMs: 0, publishTimeoutMs: 2_500 };

describe.skipIf(skipReason)("the stranded-job sweep", () => {
  const s = useStack({
    env: {
      DEDUP_WINDOW_MS: String(timing.dedupWindowMs),
      PUBLISH_TIMEOUT_MS: String(timing.publishTimeoutMs),
      STRANDED_SWEEP_MS: "0",
    },
  });

  test("publishes a job recorded but never published, and nothing more for a job that was", async () => {
    // No worker: what the stream holds stays there to be counted.
    await s.svc.worker.stop();
    const published = async () => (await s.svc.nats.jsm.streams.info("JOBS")).state.last_seq;
    const accepted = await s.submit({ type: "hash", payload: { data: "published", rounds: 1 } });
    expect(accepted.status).toBe(202);
    // What a gateway that died between its commit and its publish leaves behind.
    const stranded = randomUUID();
    await s.svc.pool.query(
      `INSERT INTO jobs (id, type, payload, status, submitted_by, created_at, updated_at)
       VALUES ($1, 'hash', '{"data":"stranded","rounds":1}', 'queued', 'someone', now(), now())`,
      [stranded],
    );
    const before = await published();
    const sweep = startStrandedSweep({
      pool: s.svc.pool,
      nats: s.svc.nats,
      logger: pino({ level: "silent" }),
      tracer: "test",
      timing,
    });
    try {
      // Too young: a publish may still be in flight.
      expect(await sweep.sweepOnce()).toBe(0);
      let republished = 0;
      await expect
        .poll(
          async () => {
            republished += await sweep.sweepOnce();
            return published();
          },
          { timeout: 15_000, interval: 200 },
        )
        .toBe(before + 1);
      expect(republished).toBe(1);
      const last = await s.svc.nats.jsm.streams.getMessage("JOBS", { seq: before + 1 });
      expect(last?.json<{ id: string }>().id).toBe(stranded);
      // Both rows are now past the age; a further pass finds nothing new to publish.
      expect(await sweep.sweepOnce()).toBe(0);
      expect(await published()).toBe(before + 1);
    } finally {
      await sweep.stop();
    }
  });
});
