import { createVerifier } from "@ktsw/task-shared/auth";
import { gatewayEnv, loadConfig } from "@ktsw/task-shared/config";
import { createPool } from "@ktsw/task-shared/db";
import { createLogger } from "@ktsw/task-shared/logger";
import { connectNats, ensureStreams } from "@ktsw/task-shared/nats";
import { fatal, onShutdown } from "@ktsw/task-shared/service";
import { initTracing } from "@ktsw/task-shared/tracing";
import { buildGateway } from "./app.ts";

try {
  const config = loadConfig(gatewayEnv, { SERVICE_NAME: "task-gateway", ...process.env });
  process.env.OTEL_SERVICE_NAME ??= config.SERVICE_NAME;
  const tracing = initTracing();
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const nats = await connectNats(config.NATS_URL, config.SERVICE_NAME);
  // In Kubernetes NACK owns the streams; outside it, ENSURE_STREAMS=true creates them.
  if (process.env.ENSURE_STREAMS === "true") {
    await ensureStreams(nats.jsm, { jobs: config.JOBS_STREAM, dlq: config.DLQ_STREAM }, config.DEDUP_WINDOW_MS);
  }
  const pool = createPool(config.DATABASE_URL, config.PG_POOL_MAX);
  const verify = createVerifier({
    issuer: config.OIDC_ISSUER,
    jwksUrl: config.OIDC_JWKS_URL,
    audience: config.OIDC_AUDIENCE,
    clockSkewSec: config.CLOCK_SKEW_SEC,
    jwksCooldownMs: config.JWKS_COOLDOWN_MS,
  });
  const app = await buildGateway({ config, logger, nats, pool, verify });
  await app.listen({ host: config.HOST, port: config.PORT });
  onShutdown(logger, async () => {
    await app.close();
    await nats.nc.drain();
    await pool.end();
    // Batched spans still in memory go out before the process exits.
    await tracing.shutdown().catch(() => {});
  });
} catch (err) {
  fatal(err);
}
