import { batched, HOT_PATH_BATCHES } from "@ktsw/task-shared/batch";
import type { WorkerConfig } from "@ktsw/task-shared/config";
import { type JobEvent, type JobMessage, jobMessage, SUBJECTS } from "@ktsw/task-shared/contracts";
import {
  claimJobs,
  completeJobs,
  failJob,
  finishUnclaimed,
  isDataError,
  type Pool,
  renewClaim,
  requeueJob,
} from "@ktsw/task-shared/db";
import { installHealth } from "@ktsw/task-shared/health";
import { createHttpApp } from "@ktsw/task-shared/http";
import type { Logger } from "@ktsw/task-shared/logger";
import {
  breakerMetrics,
  installHttpMetrics,
  jobMetrics,
  queueDepthGauge,
  type Registry,
  workerSlotGauges,
} from "@ktsw/task-shared/metrics";
import { consumerDepth, ensureConsumer, type Nats, publishJobEvent } from "@ktsw/task-shared/nats";
import { extractTrace, SpanKind, withSpan } from "@ktsw/task-shared/tracing";
import type { JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { context } from "@opentelemetry/api";
import type { FastifyInstance } from "fastify";
import { type Breaker, breakerAt, closedBreaker, recordFailure, recordSuccess, retryDelay } from "./breaker.ts";
import { runJob, UNCLAIMED_TYPES } from "./jobs.ts";

export const TRACER = "task-worker";

export interface WorkerDeps {
  config: WorkerConfig;
  logger: Logger;
  nats: Nats;
  pool: Pool;
  registry: Registry;
}

export interface Worker {
  app: FastifyInstance;
  /** Starts fetching; resolves once the consumer exists. */
  start(): Promise<void>;
  /** Stops fetching, lets in-flight jobs finish (acked or NAKed), then resolves. */
  stop(): Promise<void>;
}

/** How long a dead letter waits for its PubAck: nats.js's default for a JetStream publish, which it used before. */
const DEAD_LETTER_PUBLISH_TIMEOUT_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How many messages to pull with `inFlight` of `concurrency` slots busy: 0 (wait for more jobs to
 * finish) until a quarter of the slots are free. Every pull costs a subscription and a request
 * (nats.js `fetch`); pulling one message per finished job made them cost as much as the job itself
 * at full load. While few jobs run (light load) all the free slots are pulled at once, so a job
 * never waits for a slot that is free.
 */
export function pullSize(concurrency: number, inFlight: number): number {
  const free = concurrency - inFlight;
  return free >= Math.max(1, Math.floor(concurrency / 4)) ? free : 0;
}

export function createWorker(deps: WorkerDeps): Worker {
  const { config, logger, nats, pool, registry } = deps;
  const app = createHttpApp(logger);
  const metrics = jobMetrics(registry);
  const breakerGauges = breakerMetrics(registry);
  installHttpMetrics(app, registry);
  queueDepthGauge(registry, () => consumerDepth(nats.jsm, config.JOBS_STREAM, config.CONSUMER_NAME));
  // Deliveries handled at once share their claim and their completion statements (group commit).
  const claim = batched((jobs: JobMessage[]) => claimJobs(pool, TRACER, jobs, config.ACK_WAIT_MS), {
    ...HOT_PATH_BATCHES,
    keyOf: (j) => j.id,
    mayBeOneItems: isDataError,
  });
  const complete = batched(
    async (done: { id: string; output: unknown }[]) => {
      await completeJobs(pool, TRACER, done);
      return done.map(() => undefined);
    },
    { ...HOT_PATH_BATCHES, keyOf: (d) => d.id, mayBeOneItems: isDataError },
  );
  const finish = batched(
    (runs: { message: JobMessage; output: unknown }[]) => finishUnclaimed(pool, TRACER, runs, config.ACK_WAIT_MS),
    { ...HOT_PATH_BATCHES, keyOf: (r) => r.message.id, mayBeOneItems: isDataError },
  );
  let stopping = false;
  let loop: Promise<void> | undefined;
  const inflight = new Set<Promise<void>>();
  // The fetch loop sleeps here while too few slots are free; each finished job wakes it.
  let wakeLoop = () => {};
  const slotFreed = () =>
    new Promise<void>((resolve) => {
      wakeLoop = resolve;
    });
  workerSlotGauges(registry, () => inflight.size, config.CONCURRENCY);
  const dependencies = {
    nats: async () => nats.jsm.consumers.info(config.JOBS_STREAM, config.CONSUMER_NAME),
    postgres: async () => pool.query("SELECT 1"),
  };
  installHealth(app, dependencies, () => stopping);
  const breakerSettings = {
    threshold: Math.max(1, config.BREAKER_THRESHOLD),
    baseDelayMs: config.INFRA_RETRY_MS,
    maxDelayMs: config.INFRA_RETRY_MAX_MS,
  };
  let breaker: Breaker = closedBreaker;
  const noteInfraFailure = (err: unknown) => {
    const wasOpen = breaker.state === "open";
    const next = recordFailure(breakerAt(breaker, Date.now()), Date.now(), breakerSettings);
    breaker = next;
    breakerGauges.open.set(next.state === "closed" ? 0 : 1);
    if (next.state === "open" && !wasOpen)
      logger.error(
        { err: (err as Error).message, failures: next.failures, retry_in_ms: next.until - Date.now() },
        "circuit breaker open: infrastructure failing; pausing fetches",
      );
    return retryDelay(next.failures, breakerSettings);
  };
  const noteInfraSuccess = () => {
    if (breaker.state !== "closed") logger.info("circuit breaker closed: infrastructure back");
    breaker = recordSuccess(breaker);
    breakerGauges.open.set(0);
  };

  const backoffFor = (delivery: number) =>
    config.BACKOFF_MS[Math.min(delivery - 1, config.BACKOFF_MS.length - 1)] ?? 1_000;

  /** Moves a message to the dead-letter stream with the reason, then acks it off the work queue. */
  async function deadLetter(m: JsMsg, type: string, reason: string): Promise<void> {
    const h = natsHeaders();
    for (const [k, v] of m.headers ?? []) for (const value of v) h.append(k, value);
    h.set("Ktsw-Dlq-Reason", reason.slice(0, 500).replace(/[\r\n]+/g, " "));
    h.set("Ktsw-Dlq-Deliveries", String(m.info.deliveryCount));
    h.set("Ktsw-Original-Subject", m.subject);
    await nats.publisher.publish(SUBJECTS.deadLetter(type), m.data, {
      msgID: `dlq-${m.info.streamSequence}`,
      headers: h,
      timeoutMs: DEAD_LETTER_PUBLISH_TIMEOUT_MS,
    });
  }

  async function handle(m: JsMsg): Promise<void> {
    const delivery = m.info.deliveryCount;
    let job: JobMessage;
    let raw: unknown;
    try {
      raw = m.json();
    } catch {
      raw = undefined;
    }
    const parsed = jobMessage.safeParse(raw);
    if (!parsed.success) {
      // A poison message never succeeds however often it is retried: dead-letter it at once.
      const reason =
        raw === undefined
          ? "payload is not JSON"
          : `invalid job message: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`;
      const id = typeof (raw as { id?: unknown })?.id === "string" ? (raw as { id: string }).id : undefined;
      logger.warn({ subject: m.subject, seq: m.info.streamSequence, reason }, "poison message dead-lettered");
      await deadLetter(m, m.subject.split(".")[1] ?? "unknown", reason);
      // Failing here (Postgres down) is an infrastructure error: redelivered, the dead letter is deduplicated.
      if (id && /^[0-9a-f-]{36}$/i.test(id)) await failJob(pool, TRACER, id, reason, false);
      // A bare TERM: "+TERM <reason>" needs nats-server 2.10.4+, and 2.9 ignores it (and redelivers).
      m.term();
      metrics.processed.inc({ type: "unknown", outcome: "poison" });
      return;
    }
    job = parsed.data;
    if (UNCLAIMED_TYPES.has(job.type) && (await runUnclaimed(m, job))) return;
    const claimed = await claim(job);
    if (claimed.kind === "finished") return ackFinished(m, job);
    if (claimed.kind === "leased") return handBack(m, job, claimed.retryInMs);
    // This run's number: runs that reached a verdict before it, plus one. Deliveries lost to
    // infrastructure failures are not runs, so they do not count against MAX_DELIVER.
    const attempt = claimed.attempts + 1;
    // The fields of this run's log lines, not a child logger: pino serialises a child's fields when
    // it is made, for every job, even at a level that writes nothing.
    const run = { job_id: job.id, type: job.type, delivery, attempt };
    // Every status transition of this run carries the same job, type and attempt.
    const emitTransition = (status: JobEvent["status"], extra: Pick<JobEvent, "error" | "result"> = {}) =>
      publishJobEvent(nats.nc, { id: job.id, type: job.type, status, attempt, ...extra });
    // Announced only once the run has lasted RUNNING_EVENT_AFTER_MS: a shorter run's "running"
    // would reach its watchers together with its verdict. The claim has recorded it either way, so
    // anyone reading the job meanwhile is told "running".
    let announceRunning: NodeJS.Timeout | undefined;
    if (config.RUNNING_EVENT_AFTER_MS === 0) emitTransition("running");
    else announceRunning = setTimeout(() => emitTransition("running"), config.RUNNING_EVENT_AFTER_MS);
    // The heartbeat keeps both the delivery (ack_wait) and the claim (its lease) alive.
    const heartbeat = setInterval(
      () => {
        m.working();
        renewClaim(pool, TRACER, job.id).catch(() => {});
      },
      Math.max(100, Math.floor(config.ACK_WAIT_MS / 3)),
    );
    const started = performance.now();
    let output: unknown;
    try {
      output = await withSpan(TRACER, `run ${job.type}`, { "job.id": job.id, "job.type": job.type }, () =>
        runJob(job, { attempt }),
      );
    } catch (err) {
      clearInterval(heartbeat);
      clearTimeout(announceRunning);
      const reason = (err as Error).message;
      if (attempt >= config.MAX_DELIVER) {
        await deadLetter(m, job.type, reason);
        await failJob(pool, TRACER, job.id, reason);
        m.ack();
        metrics.processed.inc({ type: job.type, outcome: "dead_lettered" });
        metrics.duration.observe({ type: job.type, outcome: "failed" }, (performance.now() - started) / 1000);
        emitTransition("failed", { error: reason });
        logger.warn({ ...run, reason }, "job failed for the last time; dead-lettered");
      } else {
        await requeueJob(pool, TRACER, job.id, `attempt ${attempt} failed: ${reason}`);
        m.nak(backoffFor(attempt));
        metrics.processed.inc({ type: job.type, outcome: "retried" });
        emitTransition("queued", { error: reason });
        logger.info({ ...run, reason, retry_in_ms: backoffFor(attempt) }, "job failed; will retry");
      }
      return;
    }
    clearInterval(heartbeat);
    clearTimeout(announceRunning);
    // Commit first, ack second: a crash in between redelivers, and the claim above then skips it.
    // So the ack needs no reply (ackAck's round trip): an ack the server never got is the same
    // redelivery, skipped the same way. Acks of concurrent jobs leave in one write.
    await complete({ id: job.id, output });
    ackSucceeded(m, job, attempt, output, started);
  }

  /** A run whose success is committed: acked, counted, announced and logged (every successful run ends here). */
  function ackSucceeded(m: JsMsg, job: JobMessage, attempt: number, output: unknown, started: number): void {
    m.ack();
    metrics.processed.inc({ type: job.type, outcome: "succeeded" });
    metrics.duration.observe({ type: job.type, outcome: "succeeded" }, (performance.now() - started) / 1000);
    publishJobEvent(nats.nc, { id: job.id, type: job.type, status: "succeeded", attempt, result: output });
    logger.info({ job_id: job.id, type: job.type, delivery: m.info.deliveryCount, attempt }, "job succeeded");
  }

  /** A redelivery of a job already finished (its ack was lost): acked again, never run or written twice. */
  function ackFinished(m: JsMsg, job: JobMessage): void {
    m.ack();
    metrics.processed.inc({ type: job.type, outcome: "skipped_duplicate" });
    logger.info(
      { job_id: job.id, type: job.type, delivery: m.info.deliveryCount },
      "redelivered job already finished; acked without running",
    );
  }

  /** Another worker runs the job right now: come back when its claim would have run out. */
  function handBack(m: JsMsg, job: JobMessage, retryInMs: number): void {
    const retryIn = Math.max(100, retryInMs);
    m.nak(retryIn);
    metrics.processed.inc({ type: job.type, outcome: "running_elsewhere" });
    logger.info(
      { job_id: job.id, type: job.type, delivery: m.info.deliveryCount, retry_in_ms: retryIn },
      "job running elsewhere; handed back",
    );
  }

  /**
   * Runs a job of an UNCLAIMED_TYPES type without claiming it, then finishes it in one statement.
   * False when the run threw: the caller runs it again under a claim, which counts the attempt.
   */
  async function runUnclaimed(m: JsMsg, job: JobMessage): Promise<boolean> {
    const delivery = m.info.deliveryCount;
    const started = performance.now();
    let output: unknown;
    try {
      // `attempt` is not read by these types; the delivery is the closest thing known before the finish.
      output = await withSpan(TRACER, `run ${job.type}`, { "job.id": job.id, "job.type": job.type }, () =>
        runJob(job, { attempt: delivery }),
      );
    } catch {
      return false;
    }
    const finished = await finish({ message: job, output });
    if (finished.kind === "finished") ackFinished(m, job);
    else if (finished.kind === "leased") handBack(m, job, finished.retryInMs);
    // Committed first, acked second, as after a claimed run.
    else ackSucceeded(m, job, finished.attempts, output, started);
    return true;
  }

  async function handleSafely(m: JsMsg): Promise<void> {
    try {
      await context.with(extractTrace(m.headers), () =>
        withSpan(
          TRACER,
          "process job",
          { "messaging.system": "nats", "messaging.destination.name": m.subject },
          () => handle(m),
          SpanKind.CONSUMER,
        ),
      );
      noteInfraSuccess();
    } catch (err) {
      // Infrastructure trouble (Postgres down, NATS hiccup): not the job's fault, so it uses none of
      // its retry budget. Hand the message back with a delay that grows while the trouble lasts;
      // enough failures in a row open the breaker and the fetch loop pauses.
      const delay = noteInfraFailure(err);
      breakerGauges.infraFailures.inc();
      try {
        m.nak(delay);
        logger.warn(
          { err: (err as Error).message, subject: m.subject, retry_in_ms: delay },
          "infrastructure error; delivery handed back",
        );
      } catch {
        // connection gone: ack_wait expiry redelivers it
      }
    }
  }

  /** While the breaker is open, waits it out (checking for shutdown); half-open, probes the dependencies. */
  async function waitForInfrastructure(): Promise<void> {
    for (;;) {
      const b = breakerAt(breaker, Date.now());
      if (stopping || b.state === "closed") return;
      if (b.state === "open") {
        await sleep(Math.min(250, Math.max(1, b.until - Date.now())));
        continue;
      }
      try {
        await dependencies.postgres();
        await dependencies.nats();
        breakerGauges.probes.inc({ outcome: "ok" });
        noteInfraSuccess();
      } catch (err) {
        breakerGauges.probes.inc({ outcome: "failed" });
        breaker = b;
        noteInfraFailure(err);
      }
    }
  }

  async function run(): Promise<void> {
    const consumer = await nats.js.consumers.get(config.JOBS_STREAM, config.CONSUMER_NAME);
    while (!stopping) {
      await waitForInfrastructure();
      if (stopping) break;
      const free = pullSize(config.CONCURRENCY, inflight.size);
      if (free === 0) {
        await slotFreed();
        continue;
      }
      try {
        const batch = await consumer.fetch({ max_messages: free, expires: config.FETCH_EXPIRES_MS });
        for await (const m of batch) {
          const p: Promise<void> = handleSafely(m).finally(() => {
            inflight.delete(p);
            wakeLoop();
          });
          inflight.add(p);
        }
      } catch (err) {
        if (stopping) break;
        logger.warn({ err: (err as Error).message }, "fetch failed; retrying");
        await sleep(500);
      }
    }
    await Promise.allSettled([...inflight]);
  }

  return {
    app,
    async start() {
      if (config.ENSURE_CONSUMER === "true")
        await ensureConsumer(nats.jsm, {
          stream: config.JOBS_STREAM,
          durable: config.CONSUMER_NAME,
          maxAckPending: config.MAX_ACK_PENDING,
          ackWaitMs: config.ACK_WAIT_MS,
        });
      loop = run().catch((err) => logger.fatal({ err }, "worker loop crashed"));
    },
    async stop() {
      stopping = true;
      await loop;
    },
  };
}
