// Waiting for the lab's state to change. The bound is a wall-clock deadline, not a number of attempts:
// a slow `ip` or `vtysh` call cannot stretch it, so "within a third of the hold time" means exactly
// that. Running out of time is an error that names what was awaited and the last state seen.
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";

export interface PollOptions {
  /** Give up (and throw) once this much time has passed since the first reading. */
  timeoutMs: number;
  /** Pause between readings; 0 reads again at once (the benchmark measures with it). */
  everyMs?: number;
  /** Stop waiting when this is aborted: the poll throws the signal's reason (an `Interrupted` on Ctrl-C). */
  signal?: AbortSignal;
}

export class PollTimeout extends Error {
  override name = "PollTimeout";
}

function describe(value: unknown): string {
  if (value instanceof Error) return `error: ${value.message}`;
  return JSON.stringify(value) ?? String(value);
}

/** Reads until `done(reading)` holds and returns that reading. A reading that throws counts as
 *  "not yet" (a daemon still starting has no socket). Throws PollTimeout after `timeoutMs`. */
export async function poll<S>(
  what: string,
  read: () => Promise<S>,
  done: (reading: S) => boolean,
  { timeoutMs, everyMs = 100, signal }: PollOptions,
): Promise<S> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown = "no reading yet";
  for (;;) {
    signal?.throwIfAborted();
    try {
      const reading = await read();
      if (done(reading)) return reading;
      last = reading;
    } catch (err) {
      last = err;
    }
    const left = deadline - performance.now();
    if (left <= 0)
      throw new PollTimeout(`gave up after ${timeoutMs} ms waiting for ${what}; last seen: ${describe(last)}`);
    await delay(Math.min(everyMs, left), undefined, signal ? { signal } : {}).catch(() => signal?.throwIfAborted());
  }
}
