import { verifierFor } from "@ktsw/task-shared/auth";
import { type StatusConfig, statusEnv } from "@ktsw/task-shared/config";
import type { ServiceDefinition } from "@ktsw/task-shared/service";
import { Redis } from "ioredis";
import { buildStatus } from "./app.ts";

export const statusService: ServiceDefinition<StatusConfig> = {
  name: "task-status",
  env: statusEnv,
  poolSize: (config) => config.PG_POOL_MAX,
  async build({ config, logger, nats, pool, registry }) {
    // The cache is optional: fail fast while Redis is down (lookups use Postgres) and reconnect in
    // the background. One connection attempt is awaited so a healthy Redis serves from the start.
    const redis = new Redis(config.REDIS_URL, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
      // Every job's three status events each drop a cache entry: commands issued in the same turn
      // of the event loop leave in one write instead of one each.
      enableAutoPipelining: true,
    });
    redis.on("error", (err) => logger.debug({ err: err.message }, "redis connection error"));
    await redis
      .connect()
      .catch((err) =>
        logger.warn({ err: err.message }, "redis unavailable at start; reading from PostgreSQL meanwhile"),
      );
    const release = () =>
      redis.quit().then(
        () => {},
        () => redis.disconnect(),
      );
    try {
      return {
        app: await buildStatus({ config, logger, nats, pool, redis, registry, verify: verifierFor(config) }),
        release,
      };
    } catch (err) {
      redis.disconnect();
      throw err;
    }
  },
};
