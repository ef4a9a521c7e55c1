import { randomUUID } from "node:crypto";
import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { loadConfig, workerEnv } from "@ktsw/task-shared/config";
import { createLogger } from "@ktsw/task-shared/logger";
import { connectNats } from "@ktsw/task-shared/nats";
import { describe, expect, test } from "vitest";
import { createWorker } from "../src/worker.ts";

// The worker against real JetStream and Postgres: results, retries with backoff, dead letters,
// poison messages, redeliveries that must not write twice, heartbeats for long jobs, shutdown.

describe.skipIf(skipReason)("worker", () => {
  const s = useStack({ env: { ACK_WAIT_MS: "1000", MAX_DELIVER: "3", BACKOFF_MS: "100,200", CONCURRENCY: "4" } });

  const submitOk = async (body: unknown) => {
    const res = await s.submit(body);
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };

  const deadLetter = async (subject: string) => {
    const m = await s.svc.nats.jsm.streams.getMessage("JOBS_DLQ", { last_by_subj: subject });
    if (!m) throw new Error(`no dead letter on ${subject}`);
    return m;
  };

  test("hash and wordstats jobs succeed with their results stored", async () => {
    const h = await submitOk({ type: "hash", payload: { data: "abc", rounds: 1 } });
    const w = await submitOk({ type: "wordstats", payload: { text: "to be or not to be" } });
    const hv = await s.waitForStatus(h, "succeeded");
    expect(hv.result).toMatchObject({ digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" });
    const wv = await s.waitForStatus(w, "succeeded");
    expect(wv.result).toMatchObject({ words: 6, uniqueWords: 4 });
    expect((wv.result as { top: unknown[] }).top.slice(0, 2)).toEqual([
      { word: "be", count: 2 },
      { word: "to", count: 2 },
    ]);
    const { rows } = await s.svc.pool.query("SELECT count(*)::int AS n FROM job_results WHERE job_id = ANY($1)", [
      [h, w],
    ]);
    expect(rows[0].n).toBe(2);
  });

  test("a job that fails once is retried after a backoff and then succeeds", async () => {
    const id = await submitOk({ type: "fail", payload: { reason: "flaky", times: 1 } });
    const v = await s.waitForStatus(id, "succeeded");
    expect(v.attempts).toBe(2);
    expect(v.result).toEqual({ recoveredAfter: 1 });
  });

  test("a job failing every delivery is dead-lettered after max_deliver and marked failed", async () => {
    const id = await submitOk({ type: "fail", payload: { reason: "never works" } });
    const v = await s.waitForStatus(id, "failed");
    expect(v.attempts).toBe(3);
    expect(v.error).toMatch(/never works \(attempt 3\)/);
    const dl = await deadLetter("dlq.jobs.fail");
    expect(dl.json<{ id: string }>().id).toBe(id);
    expect(dl.header.get("Ktsw-Dlq-Deliveries")).toBe("3");
    expect(dl.header.get("Ktsw-Dlq-Reason")).toMatch(/never works/);
    expect(dl.header.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-/);
    const { rows } = await s.svc.pool.query("SELECT count(*)::int AS n FROM job_results WHERE job_id = $1", [id]);
    expect(rows[0].n).toBe(0);
  });

  test("a poison message is dead-lettered at once and the worker keeps going", async () => {
    await s.svc.nats.js.publish("jobs.hash", "{this is not json", { msgID: "poison-1" });
    await s.svc.nats.js.publish(
      "jobs.hash",
      JSON.stringify({ id: randomUUID(), type: "hash", payload: { rounds: -1 } }),
      { msgID: "poison-2" },
    );
    const until = Date.now() + 10_000;
    let reasons: string[] = [];
    while (Date.now() < until) {
      const info = await s.svc.nats.jsm.streams.info("JOBS_DLQ", { subjects_filter: "dlq.jobs.hash" });
      if ((info.state.subjects?.["dlq.jobs.hash"] ?? 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const last = await deadLetter("dlq.jobs.hash");
    reasons = [last.header.get("Ktsw-Dlq-Reason")];
    expect(reasons[0]).toMatch(/invalid job message/);
    expect(last.header.get("Ktsw-Dlq-Deliveries")).toBe("1");
    const id = await submitOk({ type: "hash", payload: { data: "after poison", rounds: 2 } });
    await s.waitForStatus(id, "succeeded");
  });

  test("a redelivered message never writes twice", async () => {
    const id = await submitOk({ type: "hash", payload: { data: "exactly once", rounds: 5 } });
    await s.waitForStatus(id, "succeeded");
    const { rows: stored } = await s.svc.pool.query(
      "SELECT payload, submitted_by, created_at FROM jobs WHERE id = $1",
      [id],
    );
    // Replay the very same job as if JetStream had redelivered it after a lost ack.
    const replay = {
      id,
      type: "hash",
      payload: stored[0].payload,
      submittedBy: stored[0].submitted_by,
      submittedAt: stored[0].created_at.toISOString(),
    };
    await s.svc.nats.js.publish("jobs.hash", JSON.stringify(replay), { msgID: `replay-${id}` });
    await s.svc.nats.js.publish("jobs.hash", JSON.stringify(replay), { msgID: `replay2-${id}` });
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const metrics = await (await fetch(`${s.svc.workerUrl}/metrics`)).text();
      const m = /jobs_processed_total\{type="hash",outcome="skipped_duplicate",service="task-worker"\} (\d+)/.exec(
        metrics,
      );
      if (Number(m?.[1] ?? 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { rows } = await s.svc.pool.query(
      "SELECT j.attempts, (SELECT count(*)::int FROM job_results r WHERE r.job_id = j.id) AS results FROM jobs j WHERE j.id = $1",
      [id],
    );
    expect(rows).toEqual([{ attempts: 1, results: 1 }]);
  });

  test("a job longer than ack_wait is kept alive by in-progress heartbeats (no redelivery)", async () => {
    const id = await submitOk({ type: "sleep", payload: { ms: 2_500 } });
    const v = await s.waitForStatus(id, "succeeded");
    expect(v.attempts).toBe(1);
  });

  test("/metrics exposes jobs by outcome, processing time and the consumer backlog", async () => {
    const text = await (await fetch(`${s.svc.workerUrl}/metrics`)).text();
    expect(text).toMatch(/jobs_processed_total\{type="hash",outcome="succeeded",service="task-worker"\} \d+/);
    expect(text).toMatch(/jobs_processed_total\{type="fail",outcome="dead_lettered",service="task-worker"\} 1/);
    expect(text).toMatch(/jobs_processed_total\{type="unknown",outcome="poison",service="task-worker"\} 2/);
    expect(text).toMatch(
      /job_processing_seconds_bucket\{le="[^"]+",service="task-worker",type="hash",outcome="succeeded"\}/,
    );
    expect(text).toMatch(/jetstream_consumer_pending_messages\{state="pending",service="task-worker"\} 0/);
  });

  test("a second worker on the same durable consumer shares the queue; every job runs once", async () => {
    const config = loadConfig(workerEnv, {
      NATS_URL: s.infra.nats.url,
      DATABASE_URL: s.infra.postgres.url,
      CONCURRENCY: "1",
      ACK_WAIT_MS: "1000",
      MAX_DELIVER: "3",
    });
    const nats = await connectNats(config.NATS_URL, "task-worker-2");
    const second = createWorker({ config, logger: createLogger("task-worker-2", "silent"), nats, pool: s.svc.pool });
    await second.start();
    try {
      const ids = await Promise.all(
        Array.from({ length: 12 }, () => submitOk({ type: "sleep", payload: { ms: 250 } })),
      );
      for (const id of ids) expect((await s.waitForStatus(id, "succeeded")).attempts).toBe(1);
      const metrics = (await second.app.inject({ method: "GET", url: "/metrics" })).body;
      const ran = Number(
        /jobs_processed_total\{type="sleep",outcome="succeeded",service="task-worker"\} (\d+)/.exec(metrics)?.[1] ?? 0,
      );
      expect(ran).toBeGreaterThan(0);
      expect(ran).toBeLessThan(12);
    } finally {
      await second.stop();
      await nats.nc.drain();
    }
  });

  test("graceful shutdown finishes the job in flight, then fetches nothing more", async () => {
    const id = await submitOk({ type: "sleep", payload: { ms: 1_500 } });
    await s.waitForStatus(id, "running");
    await s.svc.worker.stop();
    const { rows } = await s.svc.pool.query("SELECT status, attempts FROM jobs WHERE id = $1", [id]);
    expect(rows).toEqual([{ status: "succeeded", attempts: 1 }]);
    const later = await submitOk({ type: "hash", payload: { data: "nobody home", rounds: 1 } });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await s.waitForStatus(later, "queued")).attempts).toBe(0);
    const depth = await s.svc.nats.jsm.consumers.info("JOBS", "task-worker");
    expect(depth.num_pending).toBe(1);
  });
});
