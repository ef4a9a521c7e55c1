import { connect } from "node:net";
import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { describe, expect, test, vi } from "vitest";

// One caller cannot hold every worker slot: at most MAX_ACTIVE_JOBS_PER_SUBJECT queued or running
// jobs per token subject, then 429 + Retry-After; sleep jobs are capped where they are allowed.

describe.skipIf(skipReason)("per-caller limits at the gateway", () => {
  const s = useStack({
    env: { MAX_ACTIVE_JOBS_PER_SUBJECT: "2", SLEEP_JOB_MAX_MS: "5000", REQUEST_TIMEOUT_MS: "1500" },
  });

  test("a caller at its limit of active jobs gets 429 + Retry-After; others and retries are not limited", async () => {
    const greedy = await s.token({ sub: "greedy" });
    const nap = (key: string) => ({ type: "sleep", payload: { ms: 1_500 }, idempotencyKey: key });
    const first = await s.submit(nap("n-1"), { token: greedy });
    const second = await s.submit(nap("n-2"), { token: greedy });
    expect([first.status, second.status]).toEqual([202, 202]);
    const third = await s.storesNothing(() => s.submit(nap("n-3"), { token: greedy }));
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await third.json()) as { detail: string }).detail).toMatch(/at most 2 jobs/);
    // A retry of an accepted job is the original answer, not a new job over the limit.
    const retry = await s.submit(nap("n-1"), { token: greedy });
    expect(retry.status).toBe(202);
    expect(((await retry.json()) as { duplicate: boolean }).duplicate).toBe(true);
    // Someone else is not held up by the greedy caller.
    expect((await s.submit(nap("o-1"), { token: await s.token({ sub: "patient" }) })).status).toBe(202);
    // Once its jobs finished, the caller may submit again.
    for (const r of [first, second])
      await s.waitForStatus(((await r.json()) as { id: string }).id, "succeeded", undefined, greedy);
    expect((await s.submit(nap("n-3"), { token: greedy })).status).toBe(202);
  });

  test("a client dribbling its body (slowloris) gets 408 and loses the connection at REQUEST_TIMEOUT_MS", async () => {
    const { hostname, port } = new URL(s.svc.gatewayUrl);
    const socket = connect(Number(port), hostname);
    let answer = "";
    socket.on("data", (b) => {
      answer += b;
    });
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write(
      `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await s.token()}\r\n` +
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    );
    try {
      const started = Date.now();
      await vi.waitFor(() => closed, { timeout: 10_000 });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      socket.destroy();
    }
  });

  test("a sleep job longer than the deployment allows → 400 naming /payload/ms", async () => {
    const res = await s.storesNothing(() => s.submit({ type: "sleep", payload: { ms: 5_001 } }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(["/payload/ms"]);
  });
});
