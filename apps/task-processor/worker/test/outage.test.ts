import { randomUUID } from "node:crypto";
import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { describe, expect, test, vi } from "vitest";

// Postgres gone while jobs are queued. An infrastructure failure is not the job's fault: it must not
// use up the job's retry budget (MAX_DELIVER=1 here, so the old delivery counting dead-lettered a
// job on its first failed delivery). The breaker opens, the worker stops pulling while it is open,
// and once Postgres is back every job runs exactly once, on its first attempt, and nothing is
// dead-lettered.

const env = {
  MAX_DELIVER: "1",
  BACKOFF_MS: "100",
  ACK_WAIT_MS: "2000",
  BREAKER_THRESHOLD: "3",
  INFRA_RETRY_MS: "100",
  INFRA_RETRY_MAX_MS: "400",
};

describe.skipIf(skipReason)("worker when PostgreSQL is down", () => {
  const s = useStack({ env });

  /** One sample of the worker's /metrics (0 while it has none). */
  const metric = async (name: string, labels = "") => {
    const text = await (await fetch(s.svc.metricsUrls.worker)).text();
    const escaped = labels.replace(/[{}"]/g, "\\$&");
    const line = new RegExp(`^${name}\\{${escaped}${labels ? "," : ""}service="[^"]+"\\} (\\d+)$`, "m");
    return Number(line.exec(text)?.[1] ?? 0);
  };
  const failedProbes = () => metric("worker_circuit_breaker_probes_total", 'outcome="failed"');
  const deliveries = async () =>
    (await s.svc.nats.jsm.consumers.info("JOBS", "task-worker")).delivered.consumer_seq as number;

  test("jobs wait out the outage: none dead-lettered, each run once on attempt 1; the breaker pauses fetching", async () => {
    const dlqBefore = (await s.svc.nats.jsm.streams.info("JOBS_DLQ")).state.last_seq;
    const jobs = Array.from({ length: 20 }, (_, i) => ({
      id: randomUUID(),
      type: "hash",
      payload: { data: `during an outage ${i}`, rounds: 1 },
      submittedBy: "ops",
      submittedAt: new Date().toISOString(),
    }));
    await s.infra.postgres.halt();
    try {
      // As a gateway whose commit failed after the publish leaves them: queued in JetStream only.
      for (const job of jobs) await s.svc.nats.js.publish("jobs.hash", JSON.stringify(job), { msgID: job.id });
      await vi.waitFor(
        async () => {
          expect(await metric("worker_circuit_breaker_open")).toBe(1);
          expect(await failedProbes()).toBeGreaterThanOrEqual(2);
        },
        { timeout: 20_000, interval: 100 },
      );
      // Open and probing: no delivery is pulled between two more failed probes.
      const pulled = await deliveries();
      const probes = await failedProbes();
      await vi.waitFor(async () => expect(await failedProbes()).toBeGreaterThanOrEqual(probes + 2), {
        timeout: 20_000,
        interval: 100,
      });
      expect(await deliveries()).toBe(pulled);
      expect(pulled, "some jobs were delivered and handed back during the outage").toBeGreaterThan(0);
      const ready = (await (await fetch(`${s.svc.workerUrl}/readyz`)).json()) as { checks: Record<string, string> };
      expect(ready.checks.postgres).not.toBe("ok");
      expect((await fetch(`${s.svc.workerUrl}/healthz`)).status).toBe(200);
    } finally {
      await s.infra.postgres.start();
    }
    const ids = jobs.map((j) => j.id);
    await vi.waitFor(
      async () => {
        const { rows } = await s.svc.pool.query(
          "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND status = 'succeeded'",
          [ids],
        );
        expect(rows[0].n).toBe(jobs.length);
      },
      { timeout: 30_000, interval: 200 },
    );
    const { rows } = await s.svc.pool.query(
      `SELECT j.attempts, (SELECT count(*)::int FROM job_results r WHERE r.job_id = j.id) AS results
       FROM jobs j WHERE j.id = ANY($1)`,
      [ids],
    );
    expect(rows).toEqual(jobs.map(() => ({ attempts: 1, results: 1 })));
    expect((await s.svc.nats.jsm.streams.info("JOBS_DLQ")).state.last_seq, "nothing dead-lettered").toBe(dlqBefore);
    expect(await metric("worker_circuit_breaker_open")).toBe(0);
  });
});
