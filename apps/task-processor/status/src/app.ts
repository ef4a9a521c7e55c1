import websocket from "@fastify/websocket";
import { ownerOf, requireAnyScope, type Verifier } from "@ktsw/task-shared/auth";
import type { StatusConfig } from "@ktsw/task-shared/config";
import { reopenedSubjectId, SUBJECTS } from "@ktsw/task-shared/contracts";
import { findJob, type Pool, recentJobs } from "@ktsw/task-shared/db";
import { installHealth } from "@ktsw/task-shared/health";
import { createHttpApp, traced } from "@ktsw/task-shared/http";
import { jobCounts } from "@ktsw/task-shared/job-counts";
import type { Logger } from "@ktsw/task-shared/logger";
import { installHttpMetrics, jobInterestMetrics, queueDepthGauge, type Registry } from "@ktsw/task-shared/metrics";
import { consumerDepth, type Nats } from "@ktsw/task-shared/nats";
import { problem, unavailable } from "@ktsw/task-shared/problem";
import type { Subscription } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import { JobCache } from "./cache.ts";
import { installDashboard } from "./dashboard.ts";
import { statusEventHandler } from "./events.ts";
import { JobInterest } from "./interest.ts";
import { parseListQuery } from "./jobs-query.ts";
import { LiveHub } from "./live.ts";
import { sharedFor } from "./stats.ts";

export const TRACER = "task-status";
/** Reading job status: the read scope, or the write scope (who submits may watch). */
export const READ_SCOPES = ["jobs:read", "jobs:write"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StatusDeps {
  config: StatusConfig;
  logger: Logger;
  nats: Nats;
  pool: Pool;
  redis: Redis;
  registry: Registry;
  verify: Verifier;
}

export async function buildStatus(deps: StatusDeps): Promise<FastifyInstance> {
  const { config, logger, nats, pool, redis, registry, verify } = deps;
  const app = createHttpApp(logger, undefined, config.REQUEST_TIMEOUT_MS);
  installHttpMetrics(app, registry);
  const readDepth = () => consumerDepth(nats.jsm, config.JOBS_STREAM, config.CONSUMER_NAME);
  queueDepthGauge(registry, readDepth);
  // Status transitions from the gateway and workers, of the jobs this replica has a use for (interest.ts):
  // drop the cached copy, push to subscribers.
  const interest = new JobInterest(
    (id) => {
      const sub = nats.nc.subscribe(SUBJECTS.eventsOf(id), {
        callback: (err, msg) => {
          if (err) return;
          interestMetrics.received.inc();
          events.event(msg.subject, () => msg.json());
        },
      });
      return () => sub.unsubscribe();
    },
    () => nats.nc.flush(),
  );
  const interestMetrics = jobInterestMetrics(registry, () => interest.size);
  const cache = new JobCache(redis, logger, {
    terminalSec: config.CACHE_TTL_SEC,
    activeSec: config.ACTIVE_CACHE_TTL_SEC,
    receiveEventsFor: (id, forMs) => interest.wantFor(id, forMs),
  });
  const hub = new LiveHub(
    async (auth) => {
      const principal = await verify(auth);
      requireAnyScope(principal, READ_SCOPES);
      return principal;
    },
    logger,
    (id, owner) => findJob(pool, TRACER, id, owner),
    interest,
    registry,
  );
  const events = statusEventHandler({
    invalidate: (ids) => cache.invalidate(ids),
    mayBeCached: (id) => cache.mayHold(id),
    watched: (id) => hub.watches(id),
    publish: (event) => hub.publish(event),
    logger,
  });
  // Every replay, whichever job: any replica may hold the finished job's copy.
  const reopened: Subscription = nats.nc.subscribe(SUBJECTS.reopenedAll, {
    callback: (err, msg) => {
      const id = err ? undefined : reopenedSubjectId(msg.subject);
      if (id !== undefined) events.reopened(id);
    },
  });
  let closing = false;
  installHealth(
    app,
    {
      nats: async () => nats.nc.flush(),
      postgres: async () => pool.query("SELECT 1"),
      redis: async () => redis.ping(),
    },
    () => closing,
  );

  app.addHook("onClose", async () => {
    closing = true;
    reopened.unsubscribe();
    interest.closeAll();
    hub.closeAll();
  });

  await app.register(websocket, { options: { maxPayload: 16 * 1024 } });
  app.get("/v1/ws", { websocket: true }, (socket) => hub.attach(socket));

  // The caller's newest jobs (the dashboard's list after a login or a reload), from Postgres:
  // a list changes with every submission, so it is not cached.
  app.get("/v1/jobs", (req) =>
    traced(TRACER, req, async () => {
      const principal = await verify(req.headers.authorization);
      requireAnyScope(principal, READ_SCOPES);
      const query = parseListQuery(req.query);
      try {
        return { jobs: await recentJobs(pool, TRACER, ownerOf(principal), query) };
      } catch (err) {
        throw unavailable("PostgreSQL", config.RETRY_AFTER_SEC, (err as Error).message);
      }
    }),
  );

  app.get<{ Params: { id: string } }>("/v1/jobs/:id", (req, reply) =>
    traced(TRACER, req, async () => {
      const principal = await verify(req.headers.authorization);
      requireAnyScope(principal, READ_SCOPES);
      const owner = ownerOf(principal);
      const { id } = req.params;
      if (!UUID.test(id)) throw problem(404, "Not Found", `'${id}' is not a job id (expected a UUID)`);
      const cached = await cache.get(id, owner);
      if (cached) return reply.header("x-cache", "hit").send(cached);
      let view: Awaited<ReturnType<typeof findJob>>;
      try {
        view = await findJob(pool, TRACER, id, owner);
      } catch (err) {
        throw unavailable("PostgreSQL", config.RETRY_AFTER_SEC, (err as Error).message);
      }
      // Another caller's job answers exactly like an unknown id: its existence is not revealed.
      if (!view) throw problem(404, "Not Found", `no job with id ${id}`);
      await cache.set(view, owner);
      return reply.header("x-cache", "miss").send(view);
    }),
  );

  // Counts from the finished jobs' roll-up plus the recent and active rows (job-counts.ts): behind a
  // token, and shared by every poller of this replica for STATS_CACHE_MS.
  const stats = sharedFor(async () => {
    const [depth, counts] = await Promise.all([readDepth().catch(() => undefined), jobCounts(pool, TRACER)]);
    return { queueDepth: depth ? depth.pending + depth.ackPending : null, ...counts };
  }, config.STATS_CACHE_MS);
  app.get("/v1/stats", (req) =>
    traced(TRACER, req, async () => {
      requireAnyScope(await verify(req.headers.authorization), READ_SCOPES);
      try {
        return await stats();
      } catch (err) {
        throw unavailable("PostgreSQL", config.RETRY_AFTER_SEC, (err as Error).message);
      }
    }),
  );

  await installDashboard(app, config);
  return app;
}
