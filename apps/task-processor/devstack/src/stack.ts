import { buildGateway } from "@ktsw/task-gateway/app";
import { createVerifier } from "@ktsw/task-shared/auth";
import { gatewayEnv, loadConfig, statusEnv, workerEnv } from "@ktsw/task-shared/config";
import { createPool, migrate, type Pool } from "@ktsw/task-shared/db";
import { createLogger, type Logger } from "@ktsw/task-shared/logger";
import { connectNats, ensureStreams, type Nats } from "@ktsw/task-shared/nats";
import { buildStatus } from "@ktsw/task-status/app";
import { createWorker, type Worker } from "@ktsw/task-worker/worker";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import type { DestinationStream } from "pino";
import { type RunningServer, startNats, startPostgres, startRedis } from "./servers.ts";
import { startTokenIssuer, type TokenIssuer } from "./token-issuer.ts";

// The whole system on one machine: real servers (servers.ts), a dev token issuer, and the three
// services built in-process from their real code. `npm run demo` and the tests share it.

export interface Infra {
  nats: RunningServer;
  postgres: RunningServer;
  redis: RunningServer;
  issuer: TokenIssuer;
  stop(): Promise<void>;
}

export async function startInfra(ports: { nats?: number; postgres?: number; redis?: number } = {}): Promise<Infra> {
  const started: { stop(): Promise<void> }[] = [];
  try {
    const track = <T extends { stop(): Promise<void> }>(s: T): T => {
      started.push(s);
      return s;
    };
    const [nats, postgres, redis, issuer] = await Promise.all([
      startNats(ports.nats).then(track),
      startPostgres(ports.postgres).then(track),
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
  /** connections owned by the services, for tests that need to look inside */
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

export async function startServices(urls: ServiceUrls, opts: ServiceOptions = {}): Promise<Services> {
  const env: Record<string, string> = {
    NATS_URL: urls.natsUrl,
    DATABASE_URL: urls.databaseUrl,
    REDIS_URL: urls.redisUrl,
    OIDC_ISSUER: urls.issuer,
    OIDC_JWKS_URL: urls.jwksUrl,
    LOG_LEVEL: opts.logLevel ?? "silent",
    ...opts.env,
  };
  const host = opts.host ?? "127.0.0.1";
  const closers: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const gatewayCfg = loadConfig(gatewayEnv, { ...env, SERVICE_NAME: "task-gateway" });
    const workerCfg = loadConfig(workerEnv, { ...env, SERVICE_NAME: "task-worker" });
    const statusCfg = loadConfig(statusEnv, { ...env, SERVICE_NAME: "task-status" });
    const log = (name: string): Logger => createLogger(name, env.LOG_LEVEL, opts.logDestination);

    // One-off setup that Kubernetes does with the migrate init container and NACK's Stream CRDs.
    const setupPool = createPool(env.DATABASE_URL as string, 1);
    await migrate(setupPool);
    await setupPool.end();

    const conn = async (name: string) => {
      const n = await connectNats(env.NATS_URL as string, name);
      closers.push(() => n.nc.drain().catch(() => n.nc.close()));
      return n;
    };
    const pool = (max: number) => {
      const p = createPool(env.DATABASE_URL as string, max);
      closers.push(() => p.end());
      return p;
    };
    const gwNats = await conn("task-gateway");
    await ensureStreams(
      gwNats.jsm,
      { jobs: gatewayCfg.JOBS_STREAM, dlq: gatewayCfg.DLQ_STREAM },
      gatewayCfg.DEDUP_WINDOW_MS,
    );

    const verifier = (cfg: typeof gatewayCfg | typeof statusCfg) =>
      createVerifier({
        issuer: cfg.OIDC_ISSUER,
        jwksUrl: cfg.OIDC_JWKS_URL,
        audience: cfg.OIDC_AUDIENCE,
        clockSkewSec: cfg.CLOCK_SKEW_SEC,
        jwksCooldownMs: cfg.JWKS_COOLDOWN_MS,
      });

    const wkNats = await conn("task-worker");
    const wkPool = pool(workerCfg.CONCURRENCY + 2);
    const worker = createWorker({ config: workerCfg, logger: log("task-worker"), nats: wkNats, pool: wkPool });
    await worker.start();
    closers.push(() => worker.stop());
    closers.push(() => worker.app.close());

    const gateway = await buildGateway({
      config: gatewayCfg,
      logger: log("task-gateway"),
      nats: gwNats,
      pool: pool(5),
      verify: verifier(gatewayCfg),
    });
    closers.push(() => gateway.close());

    const redis = new Redis(env.REDIS_URL as string, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    await redis.connect();
    closers.push(() => redis.quit().catch(() => redis.disconnect()));
    const stNats = await conn("task-status");
    const status = await buildStatus({
      config: statusCfg,
      logger: log("task-status"),
      nats: stNats,
      pool: pool(5),
      redis,
      verify: verifier(statusCfg),
    });
    closers.push(() => status.close());

    const gatewayUrl = await gateway.listen({ host, port: opts.ports?.gateway ?? 0 });
    const statusUrl = await status.listen({ host, port: opts.ports?.status ?? 0 });
    const workerUrl = await worker.app.listen({ host, port: opts.ports?.worker ?? 0 });
    return { gateway, status, worker, gatewayUrl, statusUrl, workerUrl, pool: wkPool, nats: wkNats, stop };
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
