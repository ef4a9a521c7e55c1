import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { JobSpec, JobType } from "@ktsw/task-shared/contracts";

// The job types themselves: plain functions of their payload, with no I/O beyond time passing.

export interface JobContext {
  /** 1 on the first delivery. */
  attempt: number;
  signal?: AbortSignal;
}

export class JobFailed extends Error {}

/**
 * The job types a worker runs without claiming them first: synchronous, plain functions of their
 * payload that do not read their attempt. A claim keeps two runs of one job apart and counts its
 * attempts; for these, two runs (a redelivery after a lost ack) compute the same output and only
 * the run that finishes the job writes it (`finishUnclaimed`), so a claim would cost a statement
 * and a round trip per job for nothing. Being synchronous, no heartbeat or "running" event could
 * fire during such a run anyway. A run that throws is run again under a claim, which counts it.
 * `fail` reads its attempt and `sleep` runs long: both are claimed.
 */
export const UNCLAIMED_TYPES: ReadonlySet<JobType> = new Set<JobType>(["hash", "wordstats"]);

export function hashRounds(data: string, rounds: number): string {
  let digest = createHash("sha256").update(data).digest();
  for (let i = 1; i < rounds; i++) digest = createHash("sha256").update(digest).digest();
  return digest.toString("hex");
}

export function wordStats(text: string) {
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const freq = new Map<string, number>();
  for (const w of words) freq.set(w, (freq.get(w) ?? 0) + 1);
  const top = [...freq.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 10)
    .map(([word, count]) => ({ word, count }));
  const lines = text === "" ? 0 : text.split(/\r?\n/).length;
  const totalLength = words.reduce((n, w) => n + w.length, 0);
  return {
    words: words.length,
    uniqueWords: freq.size,
    lines,
    characters: [...text].length,
    averageWordLength: words.length ? Math.round((totalLength / words.length) * 100) / 100 : 0,
    top,
  };
}

export async function runJob(job: JobSpec, ctx: JobContext): Promise<unknown> {
  switch (job.type) {
    case "hash":
      return {
        algorithm: "sha256",
        rounds: job.payload.rounds,
        digest: hashRounds(job.payload.data, job.payload.rounds),
      };
    case "wordstats":
      return wordStats(job.payload.text);
    case "fail": {
      const times = job.payload.times;
      if (times === undefined || ctx.attempt <= times)
        throw new JobFailed(`${job.payload.reason} (attempt ${ctx.attempt})`);
      return { recoveredAfter: times };
    }
    case "sleep":
      await sleep(job.payload.ms, undefined, ctx.signal ? { signal: ctx.signal } : {});
      return { slept: job.payload.ms };
  }
}
