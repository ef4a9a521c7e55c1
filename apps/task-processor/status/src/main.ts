import { createVerifier } from "@ktsw/task-shared/auth";
import { loadConfig, statusEnv } from "@ktsw/task-shared/config";
import { createPool } from "@ktsw/task-shared/db";
import { createLogger } from "@ktsw/task-shared/logger";
import { connectNats } from "@ktsw/task-shared/nats";
import { fatal, onShutdown } from "@ktsw/task-shared/service";
import { initTracing } from "@ktsw/task-shared/tracing";
import { Redis } from "ioredis";
import { buildStatus } from "./app.ts";

try {
  const config = loadConfig(statusEnv, { SERVICE_NAME: "task-status", ...process.env });
  process.env.OTEL_SERVICE_NAME ??= config.SERVICE_NAME;
  const tracing = initTracing();
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const nats = await connectNats(config.NATS_URL, config.SERVICE_NAME);
  const pool = createPool(config.DATABASE_URL, config.PG_POOL_MAX);
  // Fail fast while Redis is down (the cache is optional), reconnect in the background.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on("error", (err) => logger.debug({ err: err.message }, "redis connection error"));
  const verify = createVerifier({
    issuer: config.OIDC_ISSUER,
    jwksUrl: config.OIDC_JWKS_URL,
    audience: config.OIDC_AUDIENCE,
    clockSkewSec: config.CLOCK_SKEW_SEC,
    jwksCooldownMs: config.JWKS_COOLDOWN_MS,
  });
  const app = await buildStatus({ config, logger, nats, pool, redis, verify });
  await app.listen({ host: config.HOST, port: config.PORT });
  onShutdown(logger, async () => {
    await app.close();
    await nats.nc.drain();
    await pool.end();
    redis.disconnect();
    // Batched spans still in memory go out before the process exits.
    await tracing.shutdown().catch(() => {});
  });
} catch (err) {
  fatal(err);
}
