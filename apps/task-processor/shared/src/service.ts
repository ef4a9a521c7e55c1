import type { FastifyInstance } from "fastify";
import type { DestinationStream } from "pino";
import type { z } from "zod";
import { type BaseConfig, loadConfig } from "./config.ts";
import { createPool, type Pool } from "./db.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createRegistry, metricsServer, poolGauges, type Registry } from "./metrics.ts";
import { connectNats, type Nats } from "./nats.ts";
import { initTracing } from "./tracing.ts";

// How every service starts and stops, written once: each service's main and the devstack (demo and
// tests) start the same definitions through it, so what runs in-process is what the images run.

/** What every service gets before it builds its own parts. */
export interface ServiceContext<C extends BaseConfig> {
  config: C;
  logger: Logger;
  nats: Nats;
  pool: Pool;
  /** the service's metrics, served on METRICS_PORT */
  registry: Registry;
}

/** What a service builds on top: its HTTP app, and how to wind down what is its own. */
export interface ServiceParts {
  app: FastifyInstance;
  /** Runs before the HTTP server closes (the worker stops fetching and lets in-flight jobs finish). */
  drain?(): Promise<void>;
  /** Runs last, after NATS and Postgres are closed: whatever else the service opened. */
  release?(): Promise<void>;
}

export interface ServiceDefinition<C extends BaseConfig, P extends ServiceParts = ServiceParts> {
  /** SERVICE_NAME unless the environment sets one. */
  name: string;
  env: z.ZodType<C, unknown>;
  poolSize(config: C): number;
  build(ctx: ServiceContext<C>): Promise<P>;
}

export interface RunningService<C extends BaseConfig, P extends ServiceParts = ServiceParts> extends ServiceContext<C> {
  parts: P;
  /** where the HTTP server listens */
  url: string;
  /** where `/metrics` is served (the internal metrics listener) */
  metricsUrl: string;
  /** Drains and closes everything, in order; the first failure is reported after all steps ran. */
  stop(): Promise<void>;
}

/** The service's configuration from `env`: a bad variable throws a ConfigError naming it. */
export const serviceConfig = <C extends BaseConfig>(
  def: ServiceDefinition<C, ServiceParts>,
  env: Record<string, string | undefined>,
): C => loadConfig(def.env, { SERVICE_NAME: def.name, ...env });

/** Connects NATS and Postgres, builds the service and listens on HOST:PORT. */
export async function startService<C extends BaseConfig, P extends ServiceParts>(
  def: ServiceDefinition<C, P>,
  config: C,
  opts: { logDestination?: DestinationStream } = {},
): Promise<RunningService<C, P>> {
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL, opts.logDestination);
  let nats: Nats | undefined;
  let pool: Pool | undefined;
  let parts: P | undefined;
  const registry = createRegistry(config.SERVICE_NAME);
  const metrics = metricsServer(registry);
  let stopped: Promise<void> | undefined;
  const stopSteps = async () => {
    const failures: unknown[] = [];
    const step = async (fn: () => Promise<unknown>) => {
      await fn().catch((err) => failures.push(err));
    };
    if (parts?.drain) await step(parts.drain);
    if (parts) await step(() => closeWithin((parts as P).app, SHUTDOWN_GRACE_MS, logger));
    await step(() => metrics.close());
    const nc = nats?.nc;
    if (nc)
      await step(() =>
        nc.drain().catch(async (err) => {
          await nc.close();
          throw err;
        }),
      );
    if (pool) await step(() => (pool as Pool).end());
    if (parts?.release) await step(parts.release);
    if (failures.length > 0) throw failures[0];
  };
  const stop = () => {
    stopped ??= stopSteps();
    return stopped;
  };
  try {
    nats = await connectNats(config.NATS_URL, config.SERVICE_NAME);
    pool = createPool(config.DATABASE_URL, def.poolSize(config));
    poolGauges(registry, pool);
    parts = await def.build({ config, logger, nats, pool, registry });
    const url = await parts.app.listen({ host: config.HOST, port: config.PORT });
    const metricsUrl = `${await metrics.listen({ host: config.HOST, port: config.METRICS_PORT })}/metrics`;
    return { config, logger, nats, pool, registry, parts, url, metricsUrl, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/**
 * A service's main: configuration from the environment, tracing named after the service, start,
 * then a graceful stop on SIGTERM/SIGINT (spans still batched in memory go out last). A start-up
 * failure (e.g. bad config) is one clear line and exit code 1.
 */
export async function runService<C extends BaseConfig, P extends ServiceParts>(
  def: ServiceDefinition<C, P>,
): Promise<void> {
  try {
    const config = serviceConfig(def, process.env);
    process.env.OTEL_SERVICE_NAME ??= config.SERVICE_NAME;
    const tracing = initTracing();
    const svc = await startService(def, config);
    onShutdown(svc.logger, async () => {
      try {
        await svc.stop();
      } finally {
        await tracing.shutdown().catch(() => {});
      }
    });
  } catch (err) {
    fatal(err);
  }
}

/**
 * Runs `stop` once on SIGTERM/SIGINT (Kubernetes sends SIGTERM, then SIGKILL after the grace
 * period), logging the outcome; a second signal exits at once.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "shutting down: draining");
    stop()
      .then(() => {
        logger.info("stopped cleanly");
        process.exit(0);
      })
      .catch((err) => {
        logger.error({ err }, "unclean shutdown");
        process.exit(1);
      });
  };
  process.once("SIGTERM", handler);
  process.once("SIGINT", handler);
}

/** Prints a start-up failure (e.g. bad config) as one clear line, without a stack trace. */
export function fatal(err: unknown): never {
  console.error(JSON.stringify({ level: 60, msg: "failed to start", error: (err as Error).message }));
  process.exit(1);
}

/** How long a stopping service lets its open HTTP requests finish before it closes their connections. */
export const SHUTDOWN_GRACE_MS = 5_000;

/**
 * Closes `app`: no new connections, in-flight requests finish; after `graceMs` the connections
 * still open are closed, so that one client that never lets its connection go cannot hold the
 * process (Kubernetes would SIGKILL it at the end of its grace period, mid-way through the rest).
 */
export async function closeWithin(app: FastifyInstance, graceMs: number, logger: Logger): Promise<void> {
  const closed = app.close();
  const timer = setTimeout(() => {
    app.server.getConnections((_err, open) => {
      logger.warn(
        { open_connections: open, grace_ms: graceMs },
        "HTTP connections still open after the grace period; closing them",
      );
      app.server.closeAllConnections();
    });
  }, graceMs);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
