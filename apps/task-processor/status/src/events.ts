import { batched } from "@ktsw/task-shared/batch";
import { eventSubjectId, type JobEvent, jobEvent } from "@ktsw/task-shared/contracts";
import type { Logger } from "@ktsw/task-shared/logger";

// What the status service does with each status transition the gateway and the workers announce:
// drop the job's cached copy, then push the event to whoever watches the job live. Every job
// makes three events, so this runs for every one of them: the id is read from the subject, a
// cache entry is dropped only where one may exist (see JobCache), those of the events that arrive
// together by one command, and only an event somebody watches is parsed at all.

export interface StatusEventDeps {
  /** Drops the cached copies of these jobs (never rejects: the cache is an optimisation). */
  invalidate(ids: string[]): Promise<void>;
  /** Whether job `id` may have a cached copy to drop (one this replica made). */
  mayBeCached(id: string): boolean;
  /** Whether a live subscriber watches the job. */
  watched(id: string): boolean;
  publish(event: JobEvent): void;
  logger: Logger;
}

/**
 * Handles one event message: its subject, a way to read its JSON body, and whether it reopens a
 * finished job (a replay: its cached copy may be any replica's, so it is dropped whoever made it).
 */
export type StatusEventHandler = (subject: string, body: () => unknown, reopens?: boolean) => void;

export function statusEventHandler(deps: StatusEventDeps): StatusEventHandler {
  // One batch at a time: batches then finish in the order they left, so a subscriber gets a
  // job's events in the order they were announced (queued, running, succeeded).
  // An event with nothing to drop is handled at once, unless events are still waiting in that line:
  // then it joins the line, so it never overtakes one of them.
  const invalidate = batched(
    async (items: { id: string; drop: boolean }[]) => {
      const ids = items.filter((i) => i.drop).map((i) => i.id);
      if (ids.length > 0) await deps.invalidate(ids);
      return items.map(() => undefined);
    },
    { maxItems: 1_000, maxInFlight: 1 },
  );
  let waiting = 0;
  const deliver = (id: string, subject: string, body: () => unknown) => {
    if (!deps.watched(id)) return;
    const event = readEvent(body);
    if (event) deps.publish(event);
    else deps.logger.warn({ subject }, "ignored malformed status event");
  };
  return (subject, body, reopens = false) => {
    const id = eventSubjectId(subject);
    if (id === undefined) {
      deps.logger.warn({ subject }, "ignored status event on an unexpected subject");
      return;
    }
    const drop = reopens || deps.mayBeCached(id);
    if (!drop && waiting === 0) return deliver(id, subject, body);
    // After the cache is dropped: a subscriber that reads the job on this event gets the new state.
    waiting++;
    void invalidate({ id, drop }).then(() => {
      waiting--;
      deliver(id, subject, body);
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
