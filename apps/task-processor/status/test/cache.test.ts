import { skipReason } from "@ktsw/task-devstack/testkit";
import type { JobView } from "@ktsw/task-shared/contracts";
import type { Logger } from "@ktsw/task-shared/logger";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { JobCache, MAX_REMEMBERED_ENTRIES } from "../src/cache.ts";

// The status cache on a real Redis: which entries one replica remembers having made, and so which
// a status event must drop (status/src/cache.ts).

const view = (n: number, status: JobView["status"]): JobView => ({
  id: `3f1d7a8e-0000-4000-8000-${String(n).padStart(12, "0")}`,
  type: "hash",
  status,
  attempts: 1,
  result: null,
  error: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
});

describe.skipIf(skipReason)(`status cache on Redis${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let stopRedis: () => Promise<void>;
  let redis: Redis;
  beforeAll(async () => {
    const { startRedis } = await import("@ktsw/task-devstack/servers");
    const server = await startRedis();
    stopRedis = server.stop;
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    await stopRedis?.();
  });

  const logger = { warn: vi.fn() } as unknown as Logger;
  const cacheAt = (clock: { now: number }) =>
    new JobCache(redis, logger, { terminalSec: 60, activeSec: 2 }, () => clock.now);

  it("remembers each entry it made until its TTL (and a second more) has run out, and nothing it did not make", async () => {
    const clock = { now: 1_000_000 };
    const cache = cacheAt(clock);
    const active = view(1, "running");
    const finished = view(2, "succeeded");
    await cache.set(active, "alice");
    await cache.set(finished, "alice");
    expect(await cache.get(active.id, "alice")).toEqual(active);
    expect(cache.mayHold(active.id)).toBe(true);
    expect(cache.mayHold(view(3, "queued").id)).toBe(false);
    clock.now += 2_999;
    expect(cache.mayHold(active.id)).toBe(true);
    clock.now += 1;
    expect(cache.mayHold(active.id)).toBe(false);
    expect(cache.mayHold(finished.id)).toBe(true);
    // Another replica's cache (another process's memory) made neither entry.
    expect(cacheAt(clock).mayHold(finished.id)).toBe(false);
  });

  it("receives the events of a job it cached while still moving, as long as the entry lives; a finished job's, never", async () => {
    const receiving: [string, number][] = [];
    const cache = new JobCache(redis, logger, {
      terminalSec: 60,
      activeSec: 2,
      receiveEventsFor: (id, forMs) => receiving.push([id, forMs]),
    });
    await cache.set(view(11, "queued"), "alice");
    await cache.set(view(12, "succeeded"), "alice");
    await cache.set(view(13, "running"), "alice");
    expect(receiving).toEqual([
      [view(11, "queued").id, 3_000],
      [view(13, "running").id, 3_000],
    ]);
  });

  it("drops what it is told to, in one command", async () => {
    const cache = cacheAt({ now: Date.now() });
    await cache.set(view(4, "succeeded"), "alice");
    await cache.set(view(5, "succeeded"), "alice");
    await cache.invalidate([view(4, "succeeded").id, view(5, "succeeded").id]);
    expect(await cache.get(view(4, "succeeded").id, "alice")).toBeUndefined();
    expect(await cache.get(view(5, "succeeded").id, "alice")).toBeUndefined();
  });

  it(`caches nothing new while it remembers ${MAX_REMEMBERED_ENTRIES} live entries (an entry it forgot could never be dropped), and makes room as they run out`, async () => {
    const clock = { now: 5_000_000 };
    const cache = cacheAt(clock);
    const remembered = (cache as unknown as { remembered: Map<string, number> }).remembered;
    for (let i = 0; i < MAX_REMEMBERED_ENTRIES; i++) remembered.set(`filler-${i}`, clock.now + 10_000);
    const late = view(6, "succeeded");
    await cache.set(late, "alice");
    expect(cache.mayHold(late.id)).toBe(false);
    expect(await cache.get(late.id, "alice")).toBeUndefined();
    clock.now += 10_000;
    await cache.set(late, "alice");
    expect(cache.mayHold(late.id)).toBe(true);
    expect(await cache.get(late.id, "alice")).toEqual(late);
  });
});
