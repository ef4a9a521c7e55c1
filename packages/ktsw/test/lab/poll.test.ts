// The lab's one way to wait: a wall-clock deadline, and a loud error naming what it waited for.
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, test } from "vitest";
import { Interrupted } from "../../src/interrupt.ts";
import { PollTimeout, poll } from "../../src/lab/net/poll.ts";

describe("poll", () => {
  test("returns the first reading that satisfies the condition", async () => {
    let n = 0;
    const reading = await poll(
      "n to reach 3",
      async () => ++n,
      (v) => v >= 3,
      { timeoutMs: 5_000, everyMs: 1 },
    );
    expect(reading).toBe(3);
  });

  test("a reading that throws counts as not yet", async () => {
    let n = 0;
    const read = async () => {
      n += 1;
      if (n < 3) throw new Error("socket not there yet");
      return "up";
    };
    expect(await poll("the daemon", read, (v) => v === "up", { timeoutMs: 5_000, everyMs: 1 })).toBe("up");
  });

  test("running out of time throws, naming what it waited for and the last reading", async () => {
    const waiting = poll(
      "the VIP's next hops",
      async () => ["10.20.0.11"],
      (h) => h.length === 2,
      {
        timeoutMs: 50,
        everyMs: 5,
      },
    );
    await expect(waiting).rejects.toThrow(PollTimeout);
    await expect(waiting).rejects.toThrow(
      'gave up after 50 ms waiting for the VIP\'s next hops; last seen: ["10.20.0.11"]',
    );
  });

  test("the last error is reported when every reading failed", async () => {
    const read = async (): Promise<string> => {
      throw new Error("vtysh: connection refused");
    };
    await expect(poll("bgpd", read, () => true, { timeoutMs: 30, everyMs: 5 })).rejects.toThrow(
      "last seen: error: vtysh: connection refused",
    );
  });

  test("the bound is time, not attempts: slow readings do not stretch it", async () => {
    const started = performance.now();
    const slowRead = async () => {
      await delay(100);
      return false;
    };
    await expect(poll("never", slowRead, (v) => v, { timeoutMs: 100, everyMs: 10 })).rejects.toThrow(PollTimeout);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(100);
    // Counting attempts (100 / 10 = 10 readings of 100 ms each) would take over a second; the
    // deadline allows at most one reading past it.
    expect(elapsed).toBeLessThan(600);
  });

  test("an aborted signal ends the wait at once with the signal's reason (Ctrl-C), not a timeout", async () => {
    const controller = new AbortController();
    const started = performance.now();
    const waiting = poll(
      "never",
      async () => false,
      (v) => v,
      {
        timeoutMs: 60_000,
        everyMs: 10_000,
        signal: controller.signal,
      },
    );
    setImmediate(() => controller.abort(new Interrupted("SIGINT")));
    await expect(waiting).rejects.toThrow(Interrupted);
    expect(performance.now() - started).toBeLessThan(5_000);
    await expect(
      poll(
        "never",
        async () => true,
        (v) => v,
        { timeoutMs: 1, signal: controller.signal },
      ),
    ).rejects.toThrow("interrupted (SIGINT)");
  });
});
