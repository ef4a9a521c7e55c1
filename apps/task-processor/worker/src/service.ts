import { type WorkerConfig, workerEnv } from "@ktsw/task-shared/config";
import type { ServiceDefinition, ServiceParts } from "@ktsw/task-shared/service";
import { createWorker, type Worker } from "./worker.ts";

export const workerService: ServiceDefinition<WorkerConfig, ServiceParts & { worker: Worker }> = {
  name: "task-worker",
  env: workerEnv,
  // One connection per job in flight, plus room for the health check and the poison path.
  poolSize: (config) => config.CONCURRENCY + 2,
  async build(ctx) {
    const worker = createWorker(ctx);
    await worker.start();
    // Stop fetching, finish what is in flight (ack or NAK each), then the connections close.
    return { app: worker.app, worker, drain: () => worker.stop() };
  },
};
