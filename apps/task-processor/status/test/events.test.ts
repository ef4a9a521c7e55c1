import type { JobEvent } from "@ktsw/task-shared/contracts";
import type { Logger } from "@ktsw/task-shared/logger";
import { describe, expect, it, vi } from "vitest";
import { statusEventHandler } from "../src/events.ts";

// The status service's handling of status events (pure, with fakes): every job makes three, so
// the cache is dropped for many at once and an event nobody watches is never parsed.

const ID = (n: number) => `3f1d7a8e-0000-4000-8000-${String(n).padStart(12, "0")}`;
const event = (n: number, status: JobEvent["status"]): JobEvent => ({
  id: ID(n),
  type: "hash",
  status,
  attempt: 1,
  at: "2026-01-01T00:00:00.000Z",
});
const subject = (e: JobEvent) => `events.jobs.${e.id}.${e.status}`;

/** `cached`: the ids with a copy to drop (default: every id). */
function setup(watched: string[] = [], cached?: string[]) {
  const log: string[] = [];
  const invalidations: string[][] = [];
  let release = () => {};
  const deps = {
    invalidate: vi.fn(async (ids: string[]) => {
      invalidations.push(ids);
      log.push(`invalidate ${ids.length}`);
      await new Promise<void>((r) => {
        release = r;
      });
    }),
    watched: (id: string) => watched.includes(id),
    mayBeCached: (id: string) => cached === undefined || cached.includes(id),
    publish: (e: JobEvent) => log.push(`publish ${e.id} ${e.status}`),
    logger: { warn: vi.fn() } as unknown as Logger,
  };
  const handler = statusEventHandler(deps);
  return { handle: handler.event, reopened: handler.reopened, deps, log, invalidations, release: () => release() };
}

describe("status events", () => {
  it("drops the cache entries of the events that arrive together with one call, and parses none nobody watches", async () => {
    const { handle, deps, invalidations, release } = setup();
    const bodies = [event(1, "queued"), event(2, "running"), event(1, "running")].map((e) => ({
      e,
      read: vi.fn(() => e),
    }));
    for (const { e, read } of bodies) handle(subject(e), read);
    await vi.waitFor(() => expect(invalidations).toHaveLength(1));
    expect(invalidations[0]).toEqual([ID(1), ID(2), ID(1)]);
    release();
    await vi.waitFor(() => expect(deps.invalidate).toHaveBeenCalledTimes(1));
    for (const { read } of bodies) expect(read).not.toHaveBeenCalled();
  });

  it("pushes a watched job's events after its cache entry is gone, in the order they came, across batches", async () => {
    const { handle, log, release } = setup([ID(7)]);
    handle(subject(event(7, "queued")), () => event(7, "queued"));
    await vi.waitFor(() => expect(log).toEqual(["invalidate 1"]));
    // These arrive while the first batch is still out: they wait for it and go out together.
    handle(subject(event(7, "running")), () => event(7, "running"));
    handle(subject(event(7, "succeeded")), () => event(7, "succeeded"));
    expect(log).toEqual(["invalidate 1"]);
    release();
    await vi.waitFor(() => expect(log).toEqual(["invalidate 1", `publish ${ID(7)} queued`, "invalidate 2"]));
    release();
    await vi.waitFor(() =>
      expect(log).toEqual([
        "invalidate 1",
        `publish ${ID(7)} queued`,
        "invalidate 2",
        `publish ${ID(7)} running`,
        `publish ${ID(7)} succeeded`,
      ]),
    );
  });

  it("ignores a malformed event of a watched job and an event on a subject without a job id, with a warning", async () => {
    const { handle, deps, log, release } = setup([ID(3)]);
    handle(`events.jobs.${ID(3)}.running`, () => ({ id: ID(3), status: "exploded" }));
    handle(`events.jobs.${ID(3)}.queued`, () => {
      throw new SyntaxError("not JSON");
    });
    handle("events.other", () => event(3, "queued"));
    await vi.waitFor(() => expect(log).toEqual(["invalidate 2"]));
    release();
    await vi.waitFor(() => expect(deps.logger.warn).toHaveBeenCalledTimes(3));
    expect(log).toEqual(["invalidate 2"]);
  });

  it("drops only the copies that may exist: an event of a job nobody cached costs no cache command and is handled at once", async () => {
    const { handle, deps, log, invalidations, release } = setup([ID(2)], [ID(1)]);
    handle(subject(event(2, "queued")), () => event(2, "queued"));
    // Nothing to drop and nothing waiting: pushed at once, with no promise or batch in between.
    expect(log).toEqual([`publish ${ID(2)} queued`]);
    expect(deps.invalidate).not.toHaveBeenCalled();
    // A watched job's event waits behind one that drops a copy: the order of events holds.
    handle(subject(event(1, "running")), () => event(1, "running"));
    handle(subject(event(2, "running")), () => event(2, "running"));
    await vi.waitFor(() => expect(invalidations).toEqual([[ID(1)]]));
    expect(log).toEqual([`publish ${ID(2)} queued`, "invalidate 1"]);
    release();
    await vi.waitFor(() =>
      expect(log).toEqual([`publish ${ID(2)} queued`, "invalidate 1", `publish ${ID(2)} running`]),
    );
  });

  it("drops the copy of a reopened job (a replay), whoever cached it, before its event reaches a watcher", async () => {
    const { handle, reopened, log, invalidations, release } = setup([ID(5)], []);
    reopened(ID(5));
    handle(subject(event(5, "queued")), () => event(5, "queued"));
    await vi.waitFor(() => expect(invalidations).toEqual([[ID(5)]]));
    expect(log).toEqual(["invalidate 1"]);
    release();
    await vi.waitFor(() => expect(log).toEqual(["invalidate 1", `publish ${ID(5)} queued`]));
  });
});
