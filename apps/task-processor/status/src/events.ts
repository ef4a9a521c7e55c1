import { batched } from "@ktsw/task-shared/batch";
import { eventSubjectId, type JobEvent, jobEvent } from "@ktsw/task-shared/contracts";
import type { Logger } from "@ktsw/task-shared/logger";

// What the status service does with each status transition the gateway and the workers announce:
// drop the job's cached copy, then push the event to whoever watches the job live. A replica receives
// only the events of jobs it watches or holds a changing copy of (interest.ts), and still does little with
// each: the id is read from the subject, a cache entry is dropped only where one may exist (see JobCache),
// those of the events that arrive together by one command, and only an event somebody watches is parsed.

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

export interface StatusEventHandler {
  /** Handles one event message: its subject and a way to read its JSON body. */
  event(subject: string, body: () => unknown): void;
  /**
   * A finished job goes back to work (a replay, announced before its event): its cached copy may be any
   * replica's, dead ones included, so it is dropped whoever made it. Its event, should this replica watch the
   * job, waits behind the drop.
   */
  reopened(id: string): void;
}

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
  const handle = (id: string, drop: boolean, then: () => void) => {
    if (!drop && waiting === 0) return then();
    // After the cache is dropped: a subscriber that reads the job on this event gets the new state.
    waiting++;
    void invalidate({ id, drop }).then(() => {
      waiting--;
      then();
    });
  };
  return {
    event(subject, body) {
      const id = eventSubjectId(subject);
      if (id === undefined) {
        deps.logger.warn({ subject }, "ignored status event on an unexpected subject");
        return;
      }
      handle(id, deps.mayBeCached(id), () => deliver(id, subject, body));
    },
    reopened(id) {
      handle(id, true, () => {});
    },
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
