import { describe, expect, test } from "vitest";
import { type Breaker, breakerAt, closedBreaker, recordFailure, recordSuccess, retryDelay } from "../src/breaker.ts";

const s = { threshold: 3, baseDelayMs: 100, maxDelayMs: 1_000 };

describe("infrastructure circuit breaker", () => {
  test("retry delays double from the base and stop at the maximum", () => {
    expect([1, 2, 3, 4, 5, 50].map((n) => retryDelay(n, s))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  test("stays closed below the threshold and opens at it, for the delay of that many failures", () => {
    let b: Breaker = closedBreaker;
    b = recordFailure(b, 0, s);
    b = recordFailure(b, 0, s);
    expect(b).toEqual({ state: "closed", failures: 2 });
    b = recordFailure(b, 10, s);
    expect(b).toEqual({ state: "open", failures: 3, until: 410 });
    expect(breakerAt(b, 409).state).toBe("open");
    expect(breakerAt(b, 410).state).toBe("half-open");
  });

  test("a failed half-open probe reopens for longer; a successful one closes and resets the count", () => {
    const open = recordFailure({ state: "closed", failures: 2 }, 0, s);
    const reopened = recordFailure(breakerAt(open, 400), 400, s);
    expect(reopened).toEqual({ state: "open", failures: 4, until: 1_200 });
    expect(recordSuccess(breakerAt(reopened, 1_200))).toEqual(closedBreaker);
  });

  test("a success while closed forgets earlier failures", () => {
    expect(recordSuccess(recordFailure(closedBreaker, 0, s))).toEqual(closedBreaker);
  });
});
