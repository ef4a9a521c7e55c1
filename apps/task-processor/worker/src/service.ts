import { HOT_PATH_BATCHES } from "@ktsw/task-shared/batch";
import { type WorkerConfig, workerEnv } from "@ktsw/task-shared/config";
import type { ServiceDefinition, ServiceParts } from "@ktsw/task-shared/service";
import { createWorker, type Worker } from "./worker.ts";

export const workerService: ServiceDefinition<WorkerConfig, ServiceParts & { worker: Worker }> = {
  name: "task-worker",
  env: workerEnv,
  // Jobs share their claim and completion statements (at most HOT_PATH_BATCHES.maxInFlight of each
  // on the wire), plus room for renewals, retries, dead letters and the health check.
  poolSize: (config) => Math.min(config.CONCURRENCY, 2 * HOT_PATH_BATCHES.maxInFlight) + 4,
  async build(ctx) {
    const worker = createWorker(ctx);
    await worker.start();
    // Stop fetching, finish what is in flight (ack or NAK each), then the connections close.
    return { app: worker.app, worker, drain: () => worker.stop() };
  },
};
