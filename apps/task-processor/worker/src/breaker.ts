// The worker's circuit breaker for infrastructure failures (Postgres or NATS unreachable), as pure
// state transitions so the policy is tested without servers or clocks. After `threshold`
// consecutive failures it opens: the worker stops pulling and hands back what it holds with a
// delay. When the delay is over it is half-open: one probe decides between closed and open again,
// each reopening waiting twice as long, up to `maxDelayMs`.

export interface BreakerSettings {
  /** consecutive infrastructure failures that open the breaker */
  threshold: number;
  /** first retry delay; doubles with each consecutive failure */
  baseDelayMs: number;
  maxDelayMs: number;
}

export type Breaker =
  | { state: "closed"; failures: number }
  | { state: "open"; failures: number; until: number }
  | { state: "half-open"; failures: number };

export const closedBreaker: Breaker = { state: "closed", failures: 0 };

/** How long to wait before retrying after `failures` consecutive infrastructure failures (1 = first). */
export function retryDelay(failures: number, s: BreakerSettings): number {
  const exp = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(s.baseDelayMs * 2 ** exp, s.maxDelayMs);
}

/** Anything reached its dependency: the breaker closes and the count starts again. */
export const recordSuccess = (_b: Breaker): Breaker => closedBreaker;

/** One more infrastructure failure at `now`: opens at the threshold, and again on a failed probe. */
export function recordFailure(b: Breaker, now: number, s: BreakerSettings): Breaker {
  const failures = b.failures + 1;
  if (b.state === "half-open" || failures >= s.threshold)
    return { state: "open", failures, until: now + retryDelay(failures, s) };
  return { state: "closed", failures };
}

/** The breaker as seen at `now`: an open breaker whose delay is over becomes half-open. */
export function breakerAt(b: Breaker, now: number): Breaker {
  return b.state === "open" && now >= b.until ? { state: "half-open", failures: b.failures } : b;
}
