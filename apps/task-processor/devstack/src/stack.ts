import { randomBytes } from "node:crypto";
import { gatewayService } from "@ktsw/task-gateway/service";
import type { BaseConfig } from "@ktsw/task-shared/config";
import { createPool, migrate, type Pool } from "@ktsw/task-shared/db";
import type { Nats } from "@ktsw/task-shared/nats";
import { type ServiceDefinition, type ServiceParts, serviceConfig, startService } from "@ktsw/task-shared/service";
import { statusService } from "@ktsw/task-status/service";
import { workerService } from "@ktsw/task-worker/service";
import type { Worker } from "@ktsw/task-worker/worker";
import type { FastifyInstance } from "fastify";
import type { DestinationStream } from "pino";
import { type PostgresSettings, type RunningServer, startNats, startPostgres, startRedis } from "./servers.ts";
import { startTokenIssuer, type TokenIssuer } from "./token-issuer.ts";

// The whole system on one machine: real servers (servers.ts), a dev token issuer, and the three
// services started in-process through the same start-up as their mains. `npm run demo` and the tests share it.

export interface Infra {
  nats: RunningServer;
  postgres: RunningServer;
  redis: RunningServer;
  issuer: TokenIssuer;
  stop(): Promise<void>;
}

export async function startInfra(
  ports: { nats?: number; postgres?: number; redis?: number } = {},
  opts: { postgresSettings?: PostgresSettings } = {},
): Promise<Infra> {
  const started: { stop(): Promise<void> }[] = [];
  try {
    const track = <T extends { stop(): Promise<void> }>(s: T): T => {
      started.push(s);
      return s;
    };
    const [nats, postgres, redis, issuer] = await Promise.all([
      startNats(ports.nats).then(track),
      startPostgres(ports.postgres, opts.postgresSettings).then(track),
      startRedis(ports.redis).then(track),
      startTokenIssuer().then((s) => {
        started.push({ stop: s.close });
        return s;
      }),
    ]);
    return { nats, postgres, redis, issuer, stop: () => stopAll(started) };
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

async function stopAll(items: { stop(): Promise<void> }[]): Promise<void> {
  await Promise.allSettled(items.map((i) => i.stop()));
}

export interface ServiceUrls {
  natsUrl: string;
  databaseUrl: string;
  redisUrl: string;
  issuer: string;
  jwksUrl: string;
}

export interface Services {
  gateway: FastifyInstance;
  status: FastifyInstance;
  worker: Worker;
  gatewayUrl: string;
  statusUrl: string;
  workerUrl: string;
  /** each service's internal `/metrics` URL */
  metricsUrls: { gateway: string; status: string; worker: string };
  /** connections owned by the worker, for tests that need to look inside */
  pool: Pool;
  nats: Nats;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** extra environment (e.g. ACK_WAIT_MS, MAX_DELIVER) applied to all three services */
  env?: Record<string, string>;
  ports?: { gateway?: number; status?: number; worker?: number };
  logLevel?: string;
  host?: string;
  /** where the services' JSON log lines go (default stdout) */
  logDestination?: DestinationStream;
}

/** The environment every service of the stack gets: where the servers are, plus `opts.env`. */
export function serviceEnv(urls: ServiceUrls, opts: Pick<ServiceOptions, "env" | "logLevel" | "host"> = {}) {
  const env: Record<string, string> = {
    NATS_URL: urls.natsUrl,
    DATABASE_URL: urls.databaseUrl,
    REDIS_URL: urls.redisUrl,
    OIDC_ISSUER: urls.issuer,
    OIDC_JWKS_URL: urls.jwksUrl,
    LOG_LEVEL: opts.logLevel ?? "silent",
    HOST: opts.host ?? "127.0.0.1",
    // Three services share one throw-away Postgres: smaller pools than production's default.
    PG_POOL_MAX: "5",
    // Each service's internal metrics listener on a free port.
    METRICS_PORT: "0",
    // What NACK's Stream objects do in Kubernetes: the gateway creates the streams.
    ENSURE_STREAMS: "true",
    // A fresh secret per stack, as a Secret gives each deployment its own.
    JOB_ID_SECRET: randomBytes(32).toString("base64url"),
    // The demo and the tests use sleep jobs (long jobs, heartbeats); production leaves them off.
    SLEEP_JOB_MAX_MS: "30000",
    ...opts.env,
  };
  return env;
}

/** The three services started in-process exactly as their mains start them (shared/src/service.ts). */
export async function startServices(urls: ServiceUrls, opts: ServiceOptions = {}): Promise<Services> {
  const env = serviceEnv(urls, opts);
  const running: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const svc of running.reverse()) await svc.stop().catch(() => {});
  };
  const start = async <C extends BaseConfig, P extends ServiceParts>(def: ServiceDefinition<C, P>, port = 0) => {
    const svc = await startService(def, serviceConfig(def, { ...env, PORT: String(port) }), {
      logDestination: opts.logDestination,
    });
    running.push(svc);
    return svc;
  };
  try {
    // One-off setup that Kubernetes does with the migrate init container.
    const setupPool = createPool(env.DATABASE_URL as string, 1);
    await migrate(setupPool).finally(() => setupPool.end());
    // The gateway first: the streams it ensures are where the worker's consumer lives.
    const gateway = await start(gatewayService, opts.ports?.gateway);
    const worker = await start(workerService, opts.ports?.worker);
    const status = await start(statusService, opts.ports?.status);
    return {
      gateway: gateway.parts.app,
      status: status.parts.app,
      worker: worker.parts.worker,
      gatewayUrl: gateway.url,
      statusUrl: status.url,
      workerUrl: worker.url,
      metricsUrls: { gateway: gateway.metricsUrl, status: status.metricsUrl, worker: worker.metricsUrl },
      pool: worker.pool,
      nats: worker.nats,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export const infraUrls = (infra: Infra): ServiceUrls => ({
  natsUrl: infra.nats.url,
  databaseUrl: infra.postgres.url,
  redisUrl: infra.redis.url,
  issuer: infra.issuer.issuer,
  jwksUrl: infra.issuer.jwksUrl,
});
