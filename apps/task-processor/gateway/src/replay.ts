import { requireScope, type Verifier } from "@ktsw/task-shared/auth";
import { type JobStatus, jobView } from "@ktsw/task-shared/contracts";
import { inTransaction, type Pool, reopenFailedJob, replayState } from "@ktsw/task-shared/db";
import { traced } from "@ktsw/task-shared/http";
import { type Nats, publishJob, publishJobEvent } from "@ktsw/task-shared/nats";
import { HttpProblem, problem, unavailable } from "@ktsw/task-shared/problem";
import type { FastifyInstance } from "fastify";

// Replaying a dead letter: a failed job goes back to the queue with a fresh retry budget, once per
// request however often that request is retried. The HTTP route and the `replay` command share it.

export const TRACER = "task-gateway";

export type ReplayOutcome =
  | { kind: "replayed"; replays: number; duplicate: boolean }
  | { kind: "conflict"; status: JobStatus }
  | { kind: "not-found" };

export interface ReplayDeps {
  nats: Nats;
  pool: Pool;
  publishTimeoutMs: number;
}

/**
 * Puts failed job `id` back on the queue. The row goes back to `queued` in a transaction that
 * commits only after JetStream's PubAck, so a failure leaves the job failed (and replayable), never
 * queued without a message. A job already queued or running because of an earlier replay answers
 * as that replay did (a retried request); any other state is a conflict. `submittedBy` limits the
 * replay to that owner's jobs (undefined: an operator's command, any job).
 */
export async function replayJob(deps: ReplayDeps, id: string, submittedBy?: string): Promise<ReplayOutcome> {
  const reopened = await inTransaction(deps.pool, async (c) => {
    const job = await reopenFailedJob(c, TRACER, id, submittedBy);
    if (!job) return undefined;
    // One message id per replay: JetStream drops a retried publish of the same replay.
    const { duplicate } = await publishJob(deps.nats.publisher, job.message, {
      msgID: `${id}.replay.${job.replays}`,
      timeoutMs: deps.publishTimeoutMs,
    });
    publishJobEvent(deps.nats.nc, { id, type: job.message.type, status: "queued", attempt: 0 }, { reopens: true });
    return { replays: job.replays, duplicate };
  });
  if (reopened) return { kind: "replayed", ...reopened };
  const state = await replayState(deps.pool, TRACER, id, submittedBy);
  if (!state) return { kind: "not-found" };
  if (state.replays > 0 && (state.status === "queued" || state.status === "running"))
    return { kind: "replayed", replays: state.replays, duplicate: true };
  return { kind: "conflict", status: state.status };
}

const uuid = jobView.shape.id;

/** `POST /v1/jobs/{id}/replay` (scope `jobs:write`, the caller's own jobs only): 202, 404 or 409. */
export function installReplayRoute(
  app: FastifyInstance,
  deps: ReplayDeps & { verify: Verifier; requiredScope: string; retryAfterSec: number },
): void {
  app.post<{ Params: { id: string } }>("/v1/jobs/:id/replay", (req, reply) =>
    traced(TRACER, req, async () => {
      const principal = await deps.verify(req.headers.authorization);
      requireScope(principal, deps.requiredScope);
      const { id } = req.params;
      if (!uuid.safeParse(id).success) throw problem(404, "Not Found", "no such job");
      let outcome: ReplayOutcome;
      try {
        outcome = await replayJob(deps, id, principal.sub);
      } catch (err) {
        if (err instanceof HttpProblem) throw err;
        throw unavailable("PostgreSQL or NATS JetStream", deps.retryAfterSec, (err as Error).message);
      }
      if (outcome.kind === "not-found") throw problem(404, "Not Found", "no such job");
      if (outcome.kind === "conflict")
        throw problem(
          409,
          "Conflict",
          `only a failed (dead-lettered) job can be replayed; this one is ${outcome.status}`,
          {
            jobStatus: outcome.status,
          },
        );
      req.log.info({ job_id: id, replays: outcome.replays, duplicate: outcome.duplicate }, "job replayed");
      return reply.code(202).send({ id, status: "queued", replays: outcome.replays, duplicate: outcome.duplicate });
    }),
  );
}
