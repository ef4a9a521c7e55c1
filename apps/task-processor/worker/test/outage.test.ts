import { randomUUID } from "node:crypto";
import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { describe, expect, test, vi } from "vitest";

// Postgres gone while jobs are queued: the worker neither crashes nor loses the job. Each failed
// delivery is NAKed with backoff; the last allowed one parks the message in the dead-letter stream
// with the reason, instead of letting JetStream drop it at max_deliver.

describe.skipIf(skipReason)("worker when PostgreSQL is down", () => {
  const s = useStack({ env: { MAX_DELIVER: "2", BACKOFF_MS: "100", ACK_WAIT_MS: "1000" } });

  test("the job is retried, then dead-lettered with an infrastructure reason; the worker stays ready to work", async () => {
    await s.infra.postgres.stop();
    const job = {
      id: randomUUID(),
      type: "hash",
      payload: { data: "during an outage", rounds: 1 },
      submittedBy: "ops",
      submittedAt: new Date().toISOString(),
    };
    await s.svc.nats.js.publish("jobs.hash", JSON.stringify(job), { msgID: job.id });
    // Two deliveries with a 100 ms backoff, each failing on a Postgres connection attempt.
    const dead = await vi.waitFor(
      async () => {
        const m = await s.svc.nats.jsm.streams.getMessage("JOBS_DLQ", { last_by_subj: "dlq.jobs.hash" });
        if (!m) throw new Error("nothing dead-lettered on dlq.jobs.hash yet");
        return m;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(dead.json<{ id: string }>().id).toBe(job.id);
    expect(dead.header.get("Ktsw-Dlq-Reason")).toMatch(/^infrastructure error/);
    expect(dead.header.get("Ktsw-Dlq-Deliveries")).toBe("2");
    const health = await fetch(`${s.svc.workerUrl}/healthz`);
    expect(health.status).toBe(200);
    const ready = (await (await fetch(`${s.svc.workerUrl}/readyz`)).json()) as { checks: Record<string, string> };
    expect(ready.checks.nats).toBe("ok");
    expect(ready.checks.postgres).not.toBe("ok");
  });
});
