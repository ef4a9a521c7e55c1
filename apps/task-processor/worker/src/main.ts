import { loadConfig, workerEnv } from "@ktsw/task-shared/config";
import { createPool } from "@ktsw/task-shared/db";
import { createLogger } from "@ktsw/task-shared/logger";
import { connectNats } from "@ktsw/task-shared/nats";
import { fatal, onShutdown } from "@ktsw/task-shared/service";
import { initTracing } from "@ktsw/task-shared/tracing";
import { createWorker } from "./worker.ts";

try {
  const config = loadConfig(workerEnv, { SERVICE_NAME: "task-worker", ...process.env });
  process.env.OTEL_SERVICE_NAME ??= config.SERVICE_NAME;
  const tracing = initTracing();
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const nats = await connectNats(config.NATS_URL, config.SERVICE_NAME);
  const pool = createPool(config.DATABASE_URL, config.CONCURRENCY + 2);
  const worker = createWorker({ config, logger, nats, pool });
  await worker.start();
  await worker.app.listen({ host: config.HOST, port: config.PORT });
  // Stop fetching, finish what is in flight (ack or NAK each), then drain the connection.
  onShutdown(logger, async () => {
    await worker.stop();
    await worker.app.close();
    await nats.nc.drain();
    await pool.end();
    // Batched spans still in memory go out before the process exits.
    await tracing.shutdown().catch(() => {});
  });
} catch (err) {
  fatal(err);
}
