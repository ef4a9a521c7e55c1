import { isTerminal, type JobView, jobView } from "@ktsw/task-shared/contracts";
import type { Logger } from "@ktsw/task-shared/logger";
import type { Redis } from "ioredis";
import { z } from "zod";

// Entries carry the job's owner, so a hit is served only to whoever may read the job.
const entry = z.object({ owner: z.string(), job: jobView });

/** How many entries one replica remembers having cached; past it, it caches nothing new. */
export const MAX_REMEMBERED_ENTRIES = 100_000;

/**
 * Read-through cache of job views. Redis is an optimisation only: when it is down, every call
 * quietly falls through to Postgres (and says so in the logs), it never fails a request.
 *
 * Each replica remembers which jobs it cached, until their entries run out: a status event needs
 * to drop an entry only where one may exist (`mayHold`), and most jobs are never read at all.
 * A replica receives the events of each job it cached while still moving, for as long as that entry
 * lives (`receiveEventsFor`), so whoever cached such a job drops its copy. An entry whose replica
 * has died is dropped by its TTL instead: at most ACTIVE_CACHE_TTL_SEC for a job still moving; a
 * finished job changes only by a replay, which every replica hears of (`events.reopened.<id>`).
 */
export class JobCache {
  private readonly remembered = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly ttl: {
      terminalSec: number;
      activeSec: number;
      /** Receive job `id`'s events for `forMs`: its cached copy can still change meanwhile. */
      receiveEventsFor?: (id: string, forMs: number) => void;
    },
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether this replica may have cached job `id` (an entry it made whose TTL has not run out). */
  mayHold(id: string): boolean {
    const until = this.remembered.get(id);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.remembered.delete(id);
    return false;
  }

  /** Remembers `id` as cached for `ttlSec` (and a second more: Redis starts its TTL a little later). */
  private remember(id: string, ttlSec: number): boolean {
    if (this.remembered.size >= MAX_REMEMBERED_ENTRIES && !this.remembered.has(id)) {
      const now = this.now();
      for (const [k, until] of this.remembered) if (until <= now) this.remembered.delete(k);
      // Full of live entries: an entry nobody remembers could never be dropped, so none is made.
      if (this.remembered.size >= MAX_REMEMBERED_ENTRIES) return false;
    }
    this.remembered.set(id, this.now() + ttlSec * 1_000 + 1_000);
    return true;
  }

  private key = (id: string) => `task-processor:job:${id}`;

  /** The cached job if `owner` may read it; undefined on a miss or another owner's job. */
  async get(id: string, owner: string): Promise<JobView | undefined> {
    try {
      const raw = await this.redis.get(this.key(id));
      if (!raw) return undefined;
      const parsed = entry.safeParse(JSON.parse(raw));
      return parsed.success && parsed.data.owner === owner ? parsed.data.job : undefined;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "redis read failed; using postgres");
      return undefined;
    }
  }

  async set(view: JobView, owner: string): Promise<void> {
    // Finished jobs never change again; running ones are cached just long enough to absorb polling.
    const ttl = isTerminal(view.status) ? this.ttl.terminalSec : this.ttl.activeSec;
    // Remembered before the write: an event that arrives while it is on the wire drops it.
    if (ttl <= 0 || !this.remember(view.id, ttl)) return;
    // Subscribed before the write too (the events of one connection arrive in order). A transition announced
    // between the database read and this subscription is missed: such a copy lives out its short TTL.
    if (!isTerminal(view.status)) this.ttl.receiveEventsFor?.(view.id, ttl * 1_000 + 1_000);
    try {
      await this.redis.set(this.key(view.id), JSON.stringify({ owner, job: view }), "EX", ttl);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "redis write failed");
    }
  }

  /** Drops the cached copies of `ids`, all in one command. */
  async invalidate(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.redis.del(ids.map(this.key));
    } catch {
      // short TTLs bound the staleness when this fails
    }
  }
}
