import { ConfigError, gatewayEnv, loadConfig, workerEnv } from "@ktsw/task-shared/config";
import { jobEvent, jobMessage, jobRequest } from "@ktsw/task-shared/contracts";
import { describe, expect, test } from "vitest";

describe("message contracts", () => {
  test("a request is a job spec plus an optional idempotency key", () => {
    const ok = jobRequest.parse({ type: "hash", payload: { data: "x", rounds: 3 }, idempotencyKey: "k-1" });
    expect(ok).toEqual({ type: "hash", payload: { data: "x", rounds: 3 }, idempotencyKey: "k-1" });
    expect(jobRequest.parse({ type: "fail", payload: {} })).toEqual({
      type: "fail",
      payload: { reason: "deliberate failure" },
    });
  });

  test("payloads are checked per type and strictly", () => {
    expect(jobRequest.safeParse({ type: "hash", payload: { text: "wrong field" } }).success).toBe(false);
    expect(jobRequest.safeParse({ type: "hash", payload: { data: "x", rounds: 0 } }).success).toBe(false);
    expect(jobRequest.safeParse({ type: "sleep", payload: { ms: 1, extra: 1 } }).success).toBe(false);
    expect(jobRequest.safeParse({ type: "nope", payload: {} }).success).toBe(false);
  });

  test("a message carries id, submitter and time; an event carries a known status", () => {
    const m = {
      type: "wordstats",
      payload: { text: "a b" },
      id: "0b6e3c36-8f55-4d4b-9a9d-6f1c1b3b7e11",
      submittedBy: "alice",
      submittedAt: "2026-01-01T00:00:00.000Z",
    };
    expect(jobMessage.parse(m)).toEqual(m);
    expect(jobMessage.safeParse({ ...m, id: "42" }).success).toBe(false);
    expect(
      jobEvent.safeParse({ id: m.id, type: "hash", status: "exploded", attempt: 1, at: m.submittedAt }).success,
    ).toBe(false);
  });
});

describe("configuration from the environment", () => {
  test("defaults fill what is not set; numbers are coerced", () => {
    const c = loadConfig(workerEnv, { MAX_DELIVER: "7", BACKOFF_MS: "10, 20" });
    expect(c.MAX_DELIVER).toBe(7);
    expect(c.BACKOFF_MS).toEqual([10, 20]);
    expect(c.CONCURRENCY).toBe(4);
  });

  test("bad values are reported by variable name, all at once", () => {
    let err: unknown;
    try {
      loadConfig(gatewayEnv, { OIDC_ISSUER: "not a url", PORT: "eighty" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/OIDC_ISSUER/);
    expect((err as Error).message).toMatch(/PORT/);
  });
});
