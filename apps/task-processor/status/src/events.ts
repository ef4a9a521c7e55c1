import { batched } from "@ktsw/task-shared/batch";
import { eventSubjectId, type JobEvent, jobEvent } from "@ktsw/task-shared/contracts";
import type { Logger } from "@ktsw/task-shared/logger";

// What the status service does with each status transition the gateway and the workers announce:
// drop the job's cached copy, then push the event to whoever watches the job live. Every job
// makes three events, so this runs for every one of them: the id is read from the subject, the
// cache entries of the events that arrive together are dropped by one command, and only an event
// somebody watches is parsed at all.

export interface StatusEventDeps {
  /** Drops the cached copies of these jobs (never rejects: the cache is an optimisation). */
  invalidate(ids: string[]): Promise<void>;
  /** Whether a live subscriber watches the job. */
  watched(id: string): boolean;
  publish(event: JobEvent): void;
  logger: Logger;
}

/** Handles one event message: its subject and a way to read its JSON body. */
export type StatusEventHandler = (subject: string, body: () => unknown) => void;

export function statusEventHandler(deps: StatusEventDeps): StatusEventHandler {
  // One batch at a time: batches then finish in the order they left, so a subscriber gets a
  // job's events in the order they were announced (queued, running, succeeded).
  const invalidate = batched(
    async (ids: string[]) => {
      await deps.invalidate(ids);
      return ids.map(() => undefined);
    },
    { maxItems: 1_000, maxInFlight: 1 },
  );
  return (subject, body) => {
    const id = eventSubjectId(subject);
    if (id === undefined) {
      deps.logger.warn({ subject }, "ignored status event on an unexpected subject");
      return;
    }
    // After the cache is dropped: a subscriber that reads the job on this event gets the new state.
    void invalidate(id).then(() => {
      if (!deps.watched(id)) return;
      const event = readEvent(body);
      if (event) deps.publish(event);
      else deps.logger.warn({ subject }, "ignored malformed status event");
    });
  };
}

function readEvent(body: () => unknown): JobEvent | undefined {
  try {
    const parsed = jobEvent.safeParse(body());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
