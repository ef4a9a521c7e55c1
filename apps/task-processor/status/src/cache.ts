import { isTerminal, type JobView, jobView } from "@ktsw/task-shared/contracts";
import type { Logger } from "@ktsw/task-shared/logger";
import type { Redis } from "ioredis";
import { z } from "zod";

// Entries carry the job's owner, so a hit is served only to whoever may read the job.
const entry = z.object({ owner: z.string(), job: jobView });

/**
 * Read-through cache of job views. Redis is an optimisation only: when it is down, every call
 * quietly falls through to Postgres (and says so in the logs), it never fails a request.
 */
export class JobCache {
  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly ttl: { terminalSec: number; activeSec: number },
  ) {}

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
    if (ttl <= 0) return;
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
