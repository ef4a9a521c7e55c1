import { randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { installSubmitRoute } from "@ktsw/task-gateway/app";
import { createVerifier } from "@ktsw/task-shared/auth";
import { createPool } from "@ktsw/task-shared/db";
import { installHealth } from "@ktsw/task-shared/health";
import { createHttpApp } from "@ktsw/task-shared/http";
import { createLogger } from "@ktsw/task-shared/logger";
import { createRegistry, installHttpMetrics, jobMetrics } from "@ktsw/task-shared/metrics";
import { initTracing } from "@ktsw/task-shared/tracing";
import { runJob } from "@ktsw/task-worker/jobs";
import { Queue, Worker } from "bullmq";

// The peers KTSW is measured against: a BullMQ worker with the same job effect as the app's worker
// (the job's function, then one row like the app's in Postgres), and the gateway's own HTTP front
// (its app and submit route: the same verifier, contract, policy, metrics and spans) that enqueues
// into BullMQ instead of recording and publishing. Each runs as a process of its own (the
// main at the end), as each KTSW service does in the bench: one event loop per process on both sides.

export const redisOptions = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
};

export interface BullmqWorkerOptions {
  redisUrl: string;
  databaseUrl: string;
  queue: string;
  concurrency: number;
  poolSize: number;
}

export async function startBullmqWorker(o: BullmqWorkerOptions): Promise<{ stop(): Promise<void> }> {
  const pool = createPool(o.databaseUrl, o.poolSize);
  const worker = new Worker(
    o.queue,
    async (job) => {
      const { submittedBy, ...spec } = job.data;
      const output = await runJob(spec, { attempt: job.attemptsMade + 1 });
      await pool.query(
        `INSERT INTO jobs (id, type, payload, status, attempts, result, submitted_by)
         VALUES ($1, $2, $3, 'succeeded', 1, $4, $5)`,
        [randomUUID(), spec.type, JSON.stringify(spec.payload), JSON.stringify(output), submittedBy ?? "bench"],
      );
    },
    { connection: redisOptions(o.redisUrl), concurrency: o.concurrency },
  );
  await worker.waitUntilReady();
  return {
    stop: async () => {
      await worker.close();
      await pool.end();
    },
  };
}

export interface HttpFrontOptions {
  redisUrl: string;
  queue: string;
  issuer: string;
  jwksUrl: string;
  port: number;
}

/**
 * The gateway's own front (its Fastify app, request metrics, spans, problem documents and the very
 * submit route: token, scope, body, policy, job message) with a BullMQ queue where the gateway
 * records and publishes: what the peer measures against KTSW is what lies behind the door.
 */
export async function startHttpFront(o: HttpFrontOptions): Promise<{ url: string; stop(): Promise<void> }> {
  initTracing();
  const logger = createLogger("peer-front", process.env.LOG_LEVEL ?? "silent");
  const registry = createRegistry("peer-front");
  const verify = createVerifier({
    issuer: o.issuer,
    jwksUrl: o.jwksUrl,
    audience: "task-api",
    clockSkewSec: 30,
    jwksCooldownMs: 30_000,
  });
  const queue = new Queue(o.queue, { connection: redisOptions(o.redisUrl) });
  const app = createHttpApp(logger);
  installHttpMetrics(app, registry);
  installHealth(app, { redis: () => queue.getJobCounts("waiting") });
  installSubmitRoute(app, {
    config: {
      REQUIRED_SCOPE: "jobs:write",
      JOB_ID_SECRET: randomBytes(32).toString("base64url"),
      STATUS_BASE_URL: "",
      SLEEP_JOB_MAX_MS: 0,
    },
    verify,
    metrics: jobMetrics(registry),
    accept: async ({ type, payload, submittedBy, id }) => {
      await queue.add(type, { type, payload, submittedBy }, { jobId: id, removeOnComplete: true, removeOnFail: 1000 });
      return { duplicate: false };
    },
  });
  const url = await app.listen({ port: o.port, host: "127.0.0.1" });
  return {
    url,
    stop: async () => {
      await app.close();
      await queue.close();
    },
  };
}

/** Answers /readyz on `port` (how the bench's process supervisor knows a peer process is up). */
async function readiness(port: number): Promise<{ stop(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"ready":true}');
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { stop: () => new Promise((r) => server.close(() => r())) };
}

/** One peer process from its environment: PEER_ROLE `front` or `worker`, then stopped on SIGTERM. */
async function peerMain(env: NodeJS.ProcessEnv): Promise<void> {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set`);
    return v;
  };
  const common = { redisUrl: need("REDIS_URL"), queue: need("PEER_QUEUE") };
  const port = Number(need("PORT"));
  let parts: { stop(): Promise<void> }[];
  if (env.PEER_ROLE === "front")
    parts = [await startHttpFront({ ...common, issuer: need("OIDC_ISSUER"), jwksUrl: need("OIDC_JWKS_URL"), port })];
  else if (env.PEER_ROLE === "worker") {
    const worker = await startBullmqWorker({
      ...common,
      databaseUrl: need("DATABASE_URL"),
      concurrency: Number(need("PEER_CONCURRENCY")),
      poolSize: 5,
    });
    parts = [worker, await readiness(port)];
  } else throw new Error(`PEER_ROLE must be front or worker, not ${env.PEER_ROLE}`);
  process.once("SIGTERM", () => {
    Promise.all(parts.map((p) => p.stop())).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  peerMain(process.env).catch((err) => {
    console.error(err);
    process.exit(1);
  });
