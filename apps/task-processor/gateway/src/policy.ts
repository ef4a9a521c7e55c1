import type { GatewayConfig } from "@ktsw/task-shared/config";
import type { JobRequest } from "@ktsw/task-shared/contracts";
import { problem } from "@ktsw/task-shared/problem";

// What this deployment lets a caller ask for, beyond what the contract allows everywhere.

/**
 * A `sleep` job only holds a worker slot: any writer could fill every slot with them. It is off
 * unless SLEEP_JOB_MAX_MS is set (the devstack and the demo set it), and capped by it when on.
 */
export function checkJobPolicy(request: JobRequest, config: Pick<GatewayConfig, "SLEEP_JOB_MAX_MS">): void {
  if (request.type !== "sleep") return;
  const max = config.SLEEP_JOB_MAX_MS;
  if (max === 0)
    throw problem(400, "Job type disabled", "sleep jobs are disabled on this deployment (SLEEP_JOB_MAX_MS=0)", {
      errors: [{ path: "/type", message: "sleep jobs are disabled here" }],
    });
  if (request.payload.ms > max)
    throw problem(400, "Invalid job request", `sleep jobs may last at most ${max} ms here`, {
      errors: [{ path: "/payload/ms", message: `at most ${max} here` }],
    });
}
