import { randomUUID } from "node:crypto";
import { type StackHandle, skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { type JobEvent, SUBJECTS } from "@ktsw/task-shared/contracts";
import { serviceConfig, startService } from "@ktsw/task-shared/service";
import { describe, expect, test, vi } from "vitest";
import { workerService } from "../src/service.ts";

// The worker against real JetStream and Postgres: results, retries with backoff, dead letters,
// poison messages, redeliveries that must not write twice, heartbeats for long jobs, shutdown.

const env = { ACK_WAIT_MS: "1000", MAX_DELIVER: "3", BACKOFF_MS: "100,200", CONCURRENCY: "4" };

const submitOk = async (s: StackHandle, body: unknown) => {
  const res = await s.submit(body);
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
};

/** One more worker process-alike on the stack's durable consumer, started like the worker's main. */
const extraWorker = (s: StackHandle, name: string) =>
  startService(
    workerService,
    serviceConfig(workerService, {
      ...env,
      SERVICE_NAME: name,
      NATS_URL: s.infra.nats.url,
      DATABASE_URL: s.infra.postgres.url,
      CONCURRENCY: "1",
      HOST: "127.0.0.1",
      PORT: "0",
      METRICS_PORT: "0",
      LOG_LEVEL: "silent",
    }),
  );

/** A counter of the worker's /metrics (0 while it has no sample yet). */
const processed = async (metricsUrl: string, type: string, outcome: string) => {
  const text = await (await fetch(metricsUrl)).text();
  const line = new RegExp(
    `^jobs_processed_total\\{type="${type}",outcome="${outcome}",service="[^"]+"\\} (\\d+)$`,
    "m",
  );
  return Number(line.exec(text)?.[1] ?? 0);
};

describe.skipIf(skipReason)("worker", () => {
  const s = useStack({ env });
  const submit = (body: unknown) => submitOk(s, body);
  const metricsUrl = () => s.svc.metricsUrls.worker;

  const deadLetter = async (subject: string) => {
    const m = await s.svc.nats.jsm.streams.getMessage("JOBS_DLQ", { last_by_subj: subject });
    if (!m) throw new Error(`no dead letter on ${subject}`);
    return m;
  };

  /** The dead letters on `subject` stored after stream sequence `afterSeq`, oldest first. */
  const deadLettersSince = async (afterSeq: number, subject: string) => {
    const last = (await s.svc.nats.jsm.streams.info("JOBS_DLQ")).state.last_seq;
    const found = [];
    for (let seq = afterSeq + 1; seq <= last; seq++) {
      const m = await s.svc.nats.jsm.streams.getMessage("JOBS_DLQ", { seq });
      if (m?.subject === subject) found.push(m);
    }
    return found;
  };

  test("hash and wordstats jobs succeed with their results stored", async () => {
    const h = await submit({ type: "hash", payload: { data: "abc", rounds: 1 } });
    const w = await submit({ type: "wordstats", payload: { text: "to be or not to be" } });
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

  test("a new job announces nothing; a run announces running only once it has lasted RUNNING_EVENT_AFTER_MS", async () => {
    const events = s.svc.nats.nc.subscribe(SUBJECTS.eventsAll);
    const seen: JobEvent[] = [];
    void (async () => {
      for await (const m of events) seen.push(m.json());
    })();
    try {
      await s.svc.nats.nc.flush();
      // hash ends within the turn it starts in, so its timer can never fire; sleep outlasts the
      // default 50 ms, and the timer is due before the sleep ends.
      const fast = await submit({ type: "hash", payload: { data: "quick", rounds: 1 } });
      const slow = await submit({ type: "sleep", payload: { ms: 300 } });
      const statusesOf = (id: string) => seen.filter((e) => e.id === id).map((e) => e.status);
      await vi.waitFor(
        () => {
          for (const id of [fast, slow])
            if (!statusesOf(id).includes("succeeded")) throw new Error(`${id} seen: ${statusesOf(id)}`);
        },
        { timeout: 20_000, interval: 20 },
      );
      expect(statusesOf(fast)).toEqual(["succeeded"]);
      expect(statusesOf(slow)).toEqual(["running", "succeeded"]);
    } finally {
      events.unsubscribe();
    }
  });

  test("a job that fails once is retried after a backoff and then succeeds", async () => {
    const id = await submit({ type: "fail", payload: { reason: "flaky", times: 1 } });
    const v = await s.waitForStatus(id, "succeeded");
    expect(v.attempts).toBe(2);
    expect(v.result).toEqual({ recoveredAfter: 1 });
  });

  test("a job failing every delivery is dead-lettered after max_deliver and marked failed", async () => {
    const deadLettered = await processed(metricsUrl(), "fail", "dead_lettered");
    const id = await submit({ type: "fail", payload: { reason: "never works" } });
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
    // Counted after the row is marked failed, so it may trail the status by a moment.
    await expect.poll(() => processed(metricsUrl(), "fail", "dead_lettered")).toBe(deadLettered + 1);
  });

  test("a poison message is dead-lettered at once and the worker keeps going", async () => {
    const since = (await s.svc.nats.jsm.streams.info("JOBS_DLQ")).state.last_seq;
    const poison = await processed(metricsUrl(), "unknown", "poison");
    await s.svc.nats.js.publish("jobs.hash", "{this is not json", { msgID: randomUUID() });
    await s.svc.nats.js.publish(
      "jobs.hash",
      JSON.stringify({ id: randomUUID(), type: "hash", payload: { rounds: -1 } }),
      { msgID: randomUUID() },
    );
    await expect.poll(async () => (await deadLettersSince(since, "dlq.jobs.hash")).length).toBe(2);
    const letters = await deadLettersSince(since, "dlq.jobs.hash");
    // The worker handles a batch concurrently: the two may be dead-lettered in either order.
    expect(letters.map((m) => m.header.get("Ktsw-Dlq-Reason")).sort()).toEqual([
      expect.stringMatching(/^invalid job message: /),
      "payload is not JSON",
    ]);
    for (const m of letters) expect(m.header.get("Ktsw-Dlq-Deliveries")).toBe("1");
    await expect.poll(() => processed(metricsUrl(), "unknown", "poison")).toBe(poison + 2);
    const id = await submit({ type: "hash", payload: { data: "after poison", rounds: 2 } });
    await s.waitForStatus(id, "succeeded");
  });

  test("a redelivered message never writes twice", async () => {
    const id = await submit({ type: "hash", payload: { data: "exactly once", rounds: 5 } });
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
    const skipped = await processed(metricsUrl(), "hash", "skipped_duplicate");
    await s.svc.nats.js.publish("jobs.hash", JSON.stringify(replay), { msgID: `replay-${id}` });
    await s.svc.nats.js.publish("jobs.hash", JSON.stringify(replay), { msgID: `replay2-${id}` });
    // Both replays handled (and recognised as finished) before the database is looked at.
    await expect.poll(() => processed(metricsUrl(), "hash", "skipped_duplicate")).toBe(skipped + 2);
    const { rows } = await s.svc.pool.query(
      "SELECT j.attempts, (SELECT count(*)::int FROM job_results r WHERE r.job_id = j.id) AS results FROM jobs j WHERE j.id = $1",
      [id],
    );
    expect(rows).toEqual([{ attempts: 1, results: 1 }]);
  });

  test("a second delivery while the job runs elsewhere is handed back, not run a second time", async () => {
    // As after a nats-server kill -9 that lost the consumer's state: the same job delivered again
    // while a worker still runs it. A 2 s sleep job: the second delivery arrives while the first
    // still runs, however loaded the machine (a CPU-bound hash could finish before it).
    const job = {
      id: randomUUID(),
      type: "sleep",
      payload: { ms: 2_000 },
      submittedBy: "ops",
      submittedAt: new Date().toISOString(),
    };
    const before = {
      succeeded: await processed(metricsUrl(), "sleep", "succeeded"),
      elsewhere: await processed(metricsUrl(), "sleep", "running_elsewhere"),
      skipped: await processed(metricsUrl(), "sleep", "skipped_duplicate"),
    };
    await s.svc.nats.js.publish("jobs.sleep", JSON.stringify(job), { msgID: `first-${job.id}` });
    await s.svc.nats.js.publish("jobs.sleep", JSON.stringify(job), { msgID: `second-${job.id}` });
    // Read as the job's owner: another caller's job is a 404.
    await s.waitForStatus(job.id, "succeeded", undefined, await s.token({ sub: job.submittedBy }));
    // The second delivery ends acked as finished, after at least one hand-back.
    await expect
      .poll(() => processed(metricsUrl(), "sleep", "skipped_duplicate"), { timeout: 20_000 })
      .toBeGreaterThan(before.skipped);
    expect(await processed(metricsUrl(), "sleep", "running_elsewhere")).toBeGreaterThan(before.elsewhere);
    expect(await processed(metricsUrl(), "sleep", "succeeded")).toBe(before.succeeded + 1);
    const { rows } = await s.svc.pool.query(
      "SELECT j.attempts, (SELECT count(*)::int FROM job_results r WHERE r.job_id = j.id) AS results FROM jobs j WHERE j.id = $1",
      [job.id],
    );
    expect(rows).toEqual([{ attempts: 1, results: 1 }]);
  });

  test("a job longer than ack_wait is kept alive by in-progress heartbeats (no redelivery)", async () => {
    const id = await submit({ type: "sleep", payload: { ms: 2_500 } });
    const v = await s.waitForStatus(id, "succeeded");
    expect(v.attempts).toBe(1);
  });

  test("/metrics exposes jobs by outcome, processing time and the consumer backlog", async () => {
    const id = await submit({ type: "hash", payload: { data: "measured", rounds: 1 } });
    await s.waitForStatus(id, "succeeded");
    // Counted right after the result is committed, so poll rather than read once.
    await expect.poll(() => processed(metricsUrl(), "hash", "succeeded")).toBeGreaterThan(0);
    const text = await (await fetch(metricsUrl())).text();
    expect(text).toMatch(
      /job_processing_seconds_bucket\{le="[^"]+",service="task-worker",type="hash",outcome="succeeded"\}/,
    );
    expect(text).toMatch(/jetstream_consumer_pending_messages\{state="pending",service="task-worker"\} 0/);
  });

  test("a second worker on the same durable consumer shares the queue; every job runs once", async () => {
    const second = await extraWorker(s, "task-worker-2");
    try {
      const ids = await Promise.all(Array.from({ length: 12 }, () => submit({ type: "sleep", payload: { ms: 250 } })));
      for (const id of ids) expect((await s.waitForStatus(id, "succeeded")).attempts).toBe(1);
      const ran = await processed(second.metricsUrl, "sleep", "succeeded");
      expect(ran).toBeGreaterThan(0);
      expect(ran).toBeLessThan(12);
    } finally {
      await second.stop();
    }
  });
});

// Stopping the stack's worker would leave the tests above without one: this gets a stack of its own.
describe.skipIf(skipReason)("worker shutdown", () => {
  const s = useStack({ env });

  test("graceful shutdown finishes the job in flight, then fetches nothing more", async () => {
    const id = await submitOk(s, { type: "sleep", payload: { ms: 1_500 } });
    await s.waitForStatus(id, "running");
    await s.svc.worker.stop();
    const { rows } = await s.svc.pool.query("SELECT status, attempts FROM jobs WHERE id = $1", [id]);
    expect(rows).toEqual([{ status: "succeeded", attempts: 1 }]);
    const later = await submitOk(s, { type: "hash", payload: { data: "nobody home", rounds: 1 } });
    // The positive signal that the stopped worker had its chance: a newcomer processes `later`. A
    // worker still fetching would have held a pull request when `later` arrived and taken it first.
    const newcomer = await extraWorker(s, "task-worker-newcomer");
    try {
      expect((await s.waitForStatus(later, "succeeded")).attempts).toBe(1);
      expect(await processed(newcomer.metricsUrl, "hash", "succeeded")).toBe(1);
      expect(await processed(s.svc.metricsUrls.worker, "hash", "succeeded")).toBe(0);
    } finally {
      await newcomer.stop();
    }
  });
});
