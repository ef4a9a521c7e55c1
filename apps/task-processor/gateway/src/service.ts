import { verifierFor } from "@ktsw/task-shared/auth";
import { type GatewayConfig, gatewayEnv } from "@ktsw/task-shared/config";
import { ensureStreams } from "@ktsw/task-shared/nats";
import type { ServiceDefinition, ServiceParts } from "@ktsw/task-shared/service";
import { buildGateway, TRACER } from "./app.ts";
import { type StrandedSweep, startStrandedSweep } from "./stranded.ts";

export const gatewayService: ServiceDefinition<GatewayConfig, ServiceParts & { sweep: StrandedSweep }> = {
  name: "task-gateway",
  env: gatewayEnv,
  poolSize: (config) => config.PG_POOL_MAX,
  async build({ config, logger, nats, pool, registry }) {
    // In Kubernetes NACK owns the streams; outside it, ENSURE_STREAMS=true creates them.
    if (config.ENSURE_STREAMS === "true") {
      await ensureStreams(nats.jsm, { jobs: config.JOBS_STREAM, dlq: config.DLQ_STREAM }, config.DEDUP_WINDOW_MS);
    }
    const app = await buildGateway({ config, logger, nats, pool, registry, verify: verifierFor(config) });
    const sweep = startStrandedSweep({
      pool,
      nats,
      logger,
      tracer: TRACER,
      timing: {
        dedupWindowMs: config.DEDUP_WINDOW_MS,
        intervalMs: config.STRANDED_SWEEP_MS,
        publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
      },
    });
    // Stops before the connections close: a sweep in flight finishes its publishes.
    return { app, sweep, drain: () => sweep.stop() };
  },
};
