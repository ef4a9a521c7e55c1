import { firstRunsQueuedBetween, type Pool, type SweepPosition } from "@ktsw/task-shared/db";
import type { Logger } from "@ktsw/task-shared/logger";
import { type Nats, publishJob } from "@ktsw/task-shared/nats";

// The gateway commits a job's row, then publishes its message. A gateway that dies in between (or
// whose publish fails while Postgres is gone too, so the row cannot be taken back) leaves a row
// `queued` with no message: nothing would ever run it. So every gateway looks once at each job
// still waiting for its first run just before the job's JetStream deduplication window closes,
// and publishes it again with the same message id: JetStream drops that copy when the first publish
// got through (the usual case), and queues it when it did not. Only first runs are looked at: a
// retried run was NAKed back by a worker and a replay has its own message.

export interface SweepTiming {
  /** JetStream's duplicate window of the JOBS stream */
  dedupWindowMs: number;
  /** how often a sweep runs (0: never by itself, only `sweepOnce`) */
  intervalMs: number;
  /** how long one publish may take */
  publishTimeoutMs: number;
}

/**
 * How old a queued job is when the sweep publishes it again: late enough that its first publish
 * has long finished (or failed and taken its row back), early enough that the copy still reaches
 * JetStream inside the first one's duplicate window, whatever the sweep's phase.
 */
export function sweepAgeMs(t: SweepTiming): number {
  const age = t.dedupWindowMs - t.intervalMs - 2 * t.publishTimeoutMs;
  if (age < 2 * t.publishTimeoutMs)
    throw new Error(
      `DEDUP_WINDOW_MS (${t.dedupWindowMs}) must exceed STRANDED_SWEEP_MS (${t.intervalMs}) plus four times ` +
        `PUBLISH_TIMEOUT_MS (${t.publishTimeoutMs}): a stranded job must be published again inside the duplicate window`,
    );
  return age;
}

export interface StrandedSweepDeps {
  pool: Pool;
  nats: Nats;
  logger: Logger;
  tracer: string;
  timing: SweepTiming;
  /** jobs per query; a sweep pages through all that are due */
  pageSize?: number;
}

export interface StrandedSweep {
  /** One pass: publishes every job that became due since the last; resolves with how many. */
  sweepOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startStrandedSweep(deps: StrandedSweepDeps, now: () => number = Date.now): StrandedSweep {
  const { pool, nats, logger, tracer, timing } = deps;
  const ageMs = sweepAgeMs(timing);
  const pageSize = deps.pageSize ?? 500;
  // A gateway starting up covers what a predecessor may have left within the window.
  let position: SweepPosition = {
    at: new Date(now() - timing.dedupWindowMs),
    id: "00000000-0000-0000-0000-000000000000",
  };
  let running: Promise<number> | undefined;

  async function pass(): Promise<number> {
    let published = 0;
    for (;;) {
      const { messages, next } = await firstRunsQueuedBetween(pool, tracer, position, ageMs, pageSize);
      for (const message of messages) {
        const { duplicate } = await publishJob(nats.publisher, message, {
          msgID: message.id,
          timeoutMs: timing.publishTimeoutMs,
        });
        if (!duplicate) {
          published += 1;
          logger.warn({ job_id: message.id, type: message.type }, "stranded job published again");
        }
      }
      position = next;
      if (messages.length < pageSize) return published;
    }
  }

  const sweepOnce = () => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer =
    timing.intervalMs > 0
      ? setInterval(() => {
          sweepOnce().catch((err) =>
            logger.warn({ err: (err as Error).message }, "stranded-job sweep failed; the next one carries on"),
          );
        }, timing.intervalMs)
      : undefined;
  timer?.unref();
  return {
    sweepOnce,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}
