import cors from "@fastify/cors";
import { ownerOf, type Principal, requireScope, type Verifier } from "@ktsw/task-shared/auth";
import { batched, HOT_PATH_BATCHES } from "@ktsw/task-shared/batch";
import type { GatewayConfig } from "@ktsw/task-shared/config";
import { issuePointers, type JobMessage, jobRequest } from "@ktsw/task-shared/contracts";
import { isDataError, type Pool, type Recorded, recordJobs, withdrawQueued } from "@ktsw/task-shared/db";
import { installHealth } from "@ktsw/task-shared/health";
import { createHttpApp, traced } from "@ktsw/task-shared/http";
import type { Logger } from "@ktsw/task-shared/logger";
import { installHttpMetrics, jobMetrics, type Registry } from "@ktsw/task-shared/metrics";
import { type Nats, publishJob } from "@ktsw/task-shared/nats";
import { HttpProblem, problem, unavailable } from "@ktsw/task-shared/problem";
import type { FastifyInstance } from "fastify";
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
  // Submissions arriving together are recorded by one statement (group commit; see batch.ts).
  const record: RecordJob = batched(
    (messages: JobMessage[]) => recordJobs(pool, TRACER, messages, config.MAX_ACTIVE_JOBS_PER_SUBJECT),
    { ...HOT_PATH_BATCHES, keyOf: (m) => m.id, mayBeOneItems: isDataError },
  );
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

  installSubmitRoute(app, { config, verify, metrics, accept: (message) => enqueue({ ...deps, record }, message) });
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

/** Takes an accepted job from the submit route: says whether it was already known (a retry). */
export type AcceptJob = (message: JobMessage) => Promise<{ duplicate: boolean }>;

export interface SubmitRouteDeps {
  config: Pick<GatewayConfig, "REQUIRED_SCOPE" | "JOB_ID_SECRET" | "STATUS_BASE_URL" | "SLEEP_JOB_MAX_MS">;
  verify: Verifier;
  metrics: Pick<ReturnType<typeof jobMetrics>, "submitted">;
  accept: AcceptJob;
}

/**
 * `POST /v1/jobs`, the door: token, scope, body and policy checked, the job's message made, then
 * handed to `accept`. The gateway accepts by recording and publishing (enqueue below); the bench's
 * BullMQ peer installs this same route with a BullMQ queue behind it, so both have the same front.
 */
export function installSubmitRoute(app: FastifyInstance, deps: SubmitRouteDeps): void {
  const { config, verify, metrics, accept } = deps;
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
      const { duplicate } = await accept(message);
      metrics.submitted.inc({ type: message.type, duplicate: String(duplicate) });
      req.log.info({ job_id: message.id, type: message.type, duplicate }, "job accepted");
      const statusUrl = `${config.STATUS_BASE_URL}/v1/jobs/${message.id}`;
      return reply.code(202).header("location", statusUrl).send({ id: message.id, statusUrl, duplicate });
    }),
  );
}

/**
 * Records the job, then publishes it. The row is committed first, by one statement, so no
 * connection waits on JetStream's PubAck and a worker's claim always finds the row. When the publish
 * fails the row is taken back and the caller gets a 503: nothing half-written. Should taking it
 * back fail too (Postgres gone as well), or the gateway die in between, the stranded-job sweep
 * (stranded.ts) publishes the job before its deduplication window closes.
 * A retried submission of a job that is still queued publishes again: its first publish may be
 * the one that failed, and JetStream drops the copy (same message id) when it did not.
 */
async function enqueue(
  deps: GatewayDeps & { record: RecordJob },
  message: JobMessage,
): Promise<{ duplicate: boolean }> {
  const { config, nats, pool, logger } = deps;
  const retry = config.RETRY_AFTER_SEC;
  let recorded: Recorded;
  try {
    recorded = await deps.record(message);
  } catch (err) {
    throw unavailable("PostgreSQL", retry, (err as Error).message);
  }
  if (recorded.kind === "at_limit") throw tooManyActive(config.MAX_ACTIVE_JOBS_PER_SUBJECT, retry);
  if (recorded.kind === "exists") {
    // Stripe's semantics: the same key with the same request is a retry (the original answer),
    // with another request it is a client bug, never silently the first job.
    if (!recorded.sameRequest) throw idempotencyConflict();
    // A worker has had it: its message got through.
    if (!recorded.unstarted) return { duplicate: true };
  }
  // No "queued" event: nobody can be watching a job whose id this answer is the first to name
  // (ids are keyed hashes, not computable beforehand), and a status replica subscribes to a job's
  // events only for a watcher or a copy it read after this. Its snapshot already says "queued".
  let duplicate: boolean;
  try {
    ({ duplicate } = await publishJob(nats.publisher, message, {
      msgID: message.id,
      timeoutMs: config.PUBLISH_TIMEOUT_MS,
    }));
  } catch (err) {
    if (recorded.kind === "inserted")
      await withdrawQueued(pool, TRACER, message.id).catch((e) =>
        logger.warn(
          { err: e, job_id: message.id },
          "publish failed and the row stays; the stranded-job sweep publishes it",
        ),
      );
    throw unavailable("NATS JetStream", retry, (err as Error).message);
  }
  return { duplicate: recorded.kind === "exists" || duplicate };
}

type RecordJob = (message: JobMessage) => Promise<Recorded>;

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
