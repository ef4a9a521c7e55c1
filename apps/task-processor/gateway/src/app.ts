import cors from "@fastify/cors";
import { ownerOf, type Principal, requireScope, type Verifier } from "@ktsw/task-shared/auth";
import type { GatewayConfig } from "@ktsw/task-shared/config";
import { issuePointers, type JobMessage, jobRequest } from "@ktsw/task-shared/contracts";
import { insertQueued, type Pool, recordedAsRequested } from "@ktsw/task-shared/db";
import { installHealth } from "@ktsw/task-shared/health";
import { createHttpApp, traced } from "@ktsw/task-shared/http";
import type { Logger } from "@ktsw/task-shared/logger";
import { installHttpMetrics, jobMetrics, type Registry } from "@ktsw/task-shared/metrics";
import { type Nats, publishJob, publishJobEvent } from "@ktsw/task-shared/nats";
import { HttpProblem, problem, unavailable } from "@ktsw/task-shared/problem";
import type { FastifyInstance } from "fastify";
import type pg from "pg";
import { toJobMessage } from "./message.ts";
import { checkJobPolicy } from "./policy.ts";
import { installReplayRoute } from "./replay.ts";

export const TRACER = "task-gateway";

export interface GatewayDeps {
  config: GatewayConfig;
  logger: Logger;
  nats: Nats;
  pool: Pool;
  registry: Registry;
  verify: Verifier;
}

export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config, nats, pool, registry, verify } = deps;
  const app = createHttpApp(deps.logger, config.BODY_LIMIT_BYTES, config.REQUEST_TIMEOUT_MS);
  const metrics = jobMetrics(registry);
  installHttpMetrics(app, registry);
  let shuttingDown = false;
  app.addHook("onClose", async () => {
    shuttingDown = true;
  });
  installHealth(
    app,
    {
      nats: async () => nats.jsm.streams.info(config.JOBS_STREAM),
      postgres: async () => pool.query("SELECT 1"),
    },
    () => shuttingDown,
  );
  const origins = config.CORS_ORIGINS.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (origins.length > 0)
    await app.register(cors, { origin: origins, methods: ["POST"], allowedHeaders: ["authorization", "content-type"] });

  app.post("/v1/jobs", { onRequest: async (req) => requireUtf8(req.headers["content-type"]) }, (req, reply) =>
    traced(TRACER, req, async () => {
      const principal = await verify(req.headers.authorization);
      requireScope(principal, config.REQUIRED_SCOPE);
      const parsed = jobRequest.safeParse(req.body);
      if (!parsed.success) {
        const errors = issuePointers(parsed.error);
        const listed = errors.map((e) => `${e.path || "(body)"}: ${e.message}`).join("; ");
        throw problem(400, "Invalid job request", `the body does not match the job schema: ${listed}`, { errors });
      }
      checkJobPolicy(parsed.data, config);
      const message = toJobMessage(parsed.data, ownerOf(principal), new Date(), config.JOB_ID_SECRET);
      const { duplicate } = await enqueue(deps, message);
      metrics.submitted.inc({ type: message.type, duplicate: String(duplicate) });
      req.log.info({ job_id: message.id, type: message.type, duplicate }, "job accepted");
      const statusUrl = `${config.STATUS_BASE_URL}/v1/jobs/${message.id}`;
      return reply.code(202).header("location", statusUrl).send({ id: message.id, statusUrl, duplicate });
    }),
  );
  installReplayRoute(app, {
    nats,
    pool,
    verify,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    requiredScope: config.REQUIRED_SCOPE,
    retryAfterSec: config.RETRY_AFTER_SEC,
  });
  return app;
}

/**
 * Records the job and publishes it as one unit: the row is inserted in a transaction that commits
 * only after JetStream's PubAck, so a NATS failure leaves no row and a Postgres failure publishes
 * nothing. A row that already exists means this is a retried submission: nothing is published again.
 */
async function enqueue(deps: GatewayDeps, message: JobMessage): Promise<{ duplicate: boolean }> {
  const { config, nats, pool, logger } = deps;
  const retry = config.RETRY_AFTER_SEC;
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw unavailable("PostgreSQL", retry, (err as Error).message);
  }
  try {
    let inserted: boolean;
    let sameRequest: boolean | undefined;
    try {
      await client.query("BEGIN");
      inserted = await insertQueued(client, TRACER, message, config.MAX_ACTIVE_JOBS_PER_SUBJECT);
      if (!inserted) sameRequest = await recordedAsRequested(client, TRACER, message);
    } catch (err) {
      throw unavailable("PostgreSQL", retry, (err as Error).message);
    }
    if (!inserted) {
      await client.query("ROLLBACK");
      // Not recorded and not inserted: the submitter is at its limit of active jobs.
      if (sameRequest === undefined) throw tooManyActive(config.MAX_ACTIVE_JOBS_PER_SUBJECT, retry);
      // Stripe's semantics: the same key with the same request is a retry (the original answer),
      // with another request it is a client bug, never silently the first job.
      if (!sameRequest) throw idempotencyConflict();
      return { duplicate: true };
    }
    let duplicate: boolean;
    try {
      ({ duplicate } = await publishJob(nats.js, message, { msgID: message.id, timeout: config.PUBLISH_TIMEOUT_MS }));
    } catch (err) {
      throw unavailable("NATS JetStream", retry, (err as Error).message);
    }
    // Announced before the commit: a worker's claim waits for that commit, so its "running" can
    // never overtake this "queued" on the way to live subscribers.
    publishJobEvent(nats.nc, { id: message.id, type: message.type, status: "queued", attempt: 0 });
    try {
      await client.query("COMMIT");
    } catch (err) {
      // Published but not recorded: the worker's claim inserts the row itself, so the job is not lost.
      logger.warn({ err, job_id: message.id }, "commit after publish failed; the worker will record the job");
    }

    return { duplicate };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * JSON is UTF-8 (RFC 8259): a body declared in another charset would be decoded as UTF-8 anyway
 * and misread, so it is refused before it is read.
 */
function requireUtf8(contentType: string | undefined): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "")?.[1];
  if (charset && charset.toLowerCase() !== "utf-8" && charset.toLowerCase() !== "utf8")
    throw problem(415, "Unsupported Media Type", `JSON bodies must be UTF-8, not charset=${charset}`);
}

const tooManyActive = (max: number, retryAfterSec: number) =>
  new HttpProblem(
    {
      type: "about:blank",
      title: "Too Many Requests",
      status: 429,
      detail: `at most ${max} jobs of one caller may be queued or running at once; retry when some have finished`,
    },
    { "retry-after": String(retryAfterSec) },
  );

const idempotencyConflict = () =>
  problem(
    409,
    "Idempotency key reused",
    "this idempotency key was already used with a different request; use a new key for a new job",
  );

export type { Principal };
