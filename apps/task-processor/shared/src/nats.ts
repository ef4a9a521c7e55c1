import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { connect, headers, type NatsConnection, nanos } from "@nats-io/transport-node";
import { type JobEvent, type JobMessage, SUBJECTS } from "./contracts.ts";
import { type JetStreamPublisher, jetStreamPublisher } from "./js-publisher.ts";
import { injectTrace } from "./tracing.ts";

export interface Nats {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** the hot path's JetStream publishes (js-publisher.ts) */
  publisher: JetStreamPublisher;
}

export async function connectNats(url: string, name: string): Promise<Nats> {
  const nc = await connect({
    servers: url.split(","),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    timeout: 3_000,
    // An Error with a stack trace per request and per timeout, made in case it fails, was a
    // measurable share of a job's CPU; a failure still says what failed, without the async trace.
    noAsyncTraces: true,
  });
  return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc), publisher: jetStreamPublisher(nc) };
}

export interface StreamNames {
  jobs: string;
  dlq: string;
}

/**
 * Creates or updates the JOBS work-queue stream and its dead-letter stream. In Kubernetes the NACK
 * controller owns them (Stream CRDs); services call this only where nobody else does (tests, demo).
 */
export async function ensureStreams(jsm: JetStreamManager, names: StreamNames, dedupWindowMs: number): Promise<void> {
  const upsert = async (cfg: Parameters<JetStreamManager["streams"]["add"]>[0] & { name: string }) => {
    try {
      await jsm.streams.info(cfg.name);
      await jsm.streams.update(cfg.name, cfg);
    } catch {
      await jsm.streams.add(cfg);
    }
  };
  await upsert({
    name: names.jobs,
    subjects: [SUBJECTS.jobsAll],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(dedupWindowMs),
    max_age: nanos(7 * 24 * 3600 * 1000),
  });
  await upsert({
    name: names.dlq,
    subjects: [SUBJECTS.deadLetterAll],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(30 * 24 * 3600 * 1000),
  });
}

export interface ConsumerSettings {
  stream: string;
  durable: string;
  maxAckPending: number;
  ackWaitMs: number;
}

/**
 * The worker's durable pull consumer. Retries are paced by the worker, which NAKs a failed
 * delivery with the delay its BACKOFF_MS schedule gives for that attempt. The server-side
 * `backoff` list is deliberately not set: nats-server 2.9 then applies it to NAKs as well and the
 * worker's delays are ignored. A delivery whose ack_wait expires (a crashed worker) comes back
 * after ack_wait. `max_deliver` is unlimited: the server cannot tell a job's own failure from
 * Postgres being down, so the worker counts the job's failed runs in Postgres and dead-letters it
 * itself; a server-side cap would silently strand jobs during a long outage.
 */
export async function ensureConsumer(jsm: JetStreamManager, s: ConsumerSettings): Promise<void> {
  const cfg = {
    durable_name: s.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(s.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: s.maxAckPending,
  };
  try {
    await jsm.consumers.info(s.stream, s.durable);
    await jsm.consumers.update(s.stream, s.durable, cfg);
  } catch {
    await jsm.consumers.add(s.stream, cfg);
  }
}

/** Backlog of the worker consumer: the number KEDA scales on and the dashboard shows. */
export async function consumerDepth(jsm: JetStreamManager, stream: string, durable: string) {
  const info = await jsm.consumers.info(stream, durable);
  return { pending: info.num_pending, ackPending: info.num_ack_pending };
}

/**
 * Announces a job's status transition on core NATS (`events.jobs.<id>.<status>`), stamped with the time.
 * Status events are a live view only: the database stays the source of truth, so a publish that
 * fails (connection down) is dropped rather than failing the job. `reopens`: the transition takes a
 * finished job back to work (a replay); it is announced on `events.reopened.<id>` first, so every status
 * replica drops its cached copy before the event reaches anyone who watches the job.
 */
export function publishJobEvent(
  nc: NatsConnection,
  event: Omit<JobEvent, "at">,
  opts: { reopens?: boolean } = {},
): void {
  const e: JobEvent = { ...event, at: new Date().toISOString() };
  try {
    if (opts.reopens) nc.publish(SUBJECTS.reopened(e.id));
    nc.publish(SUBJECTS.event(e.id, e.status), JSON.stringify(e));
  } catch {
    // live view only; see above
  }
}

/** Publishes a job onto its JOBS subject, carrying the trace; `msgID` is JetStream's deduplication key. */
export async function publishJob(
  publisher: JetStreamPublisher,
  message: JobMessage,
  opts: { msgID: string; timeoutMs: number },
): Promise<{ duplicate: boolean }> {
  const h = headers();
  injectTrace(h);
  const ack = await publisher.publish(SUBJECTS.jobs(message.type), JSON.stringify(message), {
    msgID: opts.msgID,
    headers: h,
    timeoutMs: opts.timeoutMs,
  });
  return { duplicate: ack.duplicate };
}
