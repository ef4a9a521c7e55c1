import { verifierFor } from "@ktsw/task-shared/auth";
import { type GatewayConfig, gatewayEnv } from "@ktsw/task-shared/config";
import { ensureStreams } from "@ktsw/task-shared/nats";
import type { ServiceDefinition } from "@ktsw/task-shared/service";
import { buildGateway } from "./app.ts";

export const gatewayService: ServiceDefinition<GatewayConfig> = {
  name: "task-gateway",
  env: gatewayEnv,
  poolSize: (config) => config.PG_POOL_MAX,
  async build({ config, logger, nats, pool, registry }) {
    // In Kubernetes NACK owns the streams; outside it, ENSURE_STREAMS=true creates them.
    if (config.ENSURE_STREAMS === "true") {
      await ensureStreams(nats.jsm, { jobs: config.JOBS_STREAM, dlq: config.DLQ_STREAM }, config.DEDUP_WINDOW_MS);
    }
    return { app: await buildGateway({ config, logger, nats, pool, registry, verify: verifierFor(config) }) };
  },
};
