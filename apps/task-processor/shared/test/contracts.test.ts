import { ConfigError, gatewayEnv, loadConfig, workerEnv } from "@ktsw/task-shared/config";
import {
  issuePointers,
  jobEvent,
  jobMessage,
  jobRequest,
  jsonPointer,
  MAX_BODY_BYTES,
} from "@ktsw/task-shared/contracts";
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

  test("an unknown top-level field is refused, each one named by its pointer", () => {
    const r = jobRequest.safeParse({ type: "hash", payload: { data: "x", rounds: 1 }, priority: 9, "a/b": 1 });
    expect(r.success).toBe(false);
    expect(issuePointers(r.error as never)).toEqual([
      { path: "/priority", message: "unknown field" },
      { path: "/a~1b", message: "unknown field" },
    ]);
  });

  test.each([
    ["U+0000", "a\u0000b", /U\+0000/],
    ["a lone high surrogate", "a\ud800b", /lone surrogate/],
    ["a lone low surrogate", "\udc00", /lone surrogate/],
  ])("text PostgreSQL cannot store (%s) is refused with the field's pointer", (_what, text, why) => {
    const r = jobRequest.safeParse({ type: "wordstats", payload: { text } });
    expect(r.success).toBe(false);
    expect(issuePointers(r.error as never)).toEqual([{ path: "/payload/text", message: expect.stringMatching(why) }]);
    const sub = jobMessage.safeParse({
      type: "fail",
      payload: { reason: "ok" },
      id: "0b6e3c36-8f55-4d4b-9a9d-6f1c1b3b7e11",
      submittedBy: text,
      submittedAt: "2026-01-01T00:00:00.000Z",
    });
    expect(sub.success).toBe(false);
  });

  test("astral characters (a paired surrogate) are fine", () => {
    expect(jobRequest.safeParse({ type: "wordstats", payload: { text: "🙂 ok" } }).success).toBe(true);
  });

  test("text has no limit of its own below the body limit: 60 000 characters fit in 64 KiB", () => {
    const text = "x".repeat(60_000);
    expect(JSON.stringify({ type: "wordstats", payload: { text } }).length).toBeLessThan(MAX_BODY_BYTES);
    expect(jobRequest.safeParse({ type: "wordstats", payload: { text } }).success).toBe(true);
  });

  test("JSON pointers follow RFC 6901", () => {
    expect(jsonPointer([])).toBe("");
    expect(jsonPointer(["payload", "a~b/c", 0])).toBe("/payload/a~0b~1c/0");
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
    expect(c.CONCURRENCY).toBe(32);
  });

  test("BODY_LIMIT_BYTES may lower the job size limit, never raise it", () => {
    const auth = { OIDC_ISSUER: "https://issuer.example", JOB_ID_SECRET: "s".repeat(32) };
    expect(loadConfig(gatewayEnv, auth).BODY_LIMIT_BYTES).toBe(MAX_BODY_BYTES);
    expect(loadConfig(gatewayEnv, { ...auth, BODY_LIMIT_BYTES: "4096" }).BODY_LIMIT_BYTES).toBe(4096);
    expect(() => loadConfig(gatewayEnv, { ...auth, BODY_LIMIT_BYTES: String(MAX_BODY_BYTES + 1) })).toThrow(
      /BODY_LIMIT_BYTES/,
    );
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

  test("a message is one job type's spec plus the envelope, every part of both checked", () => {
    const envelope = {
      id: "0b6e3c36-8f55-4d4b-9a9d-6f1c1b3b7e11",
      submittedBy: "alice",
      submittedAt: "2026-01-01T00:00:00.000Z",
    };
    for (const spec of [
      { type: "hash", payload: { data: "x", rounds: 2 } },
      { type: "wordstats", payload: { text: "a b" } },
      { type: "fail", payload: { reason: "r", times: 1 } },
      { type: "sleep", payload: { ms: 5 } },
    ])
      expect(jobMessage.parse({ ...spec, ...envelope })).toEqual({ ...spec, ...envelope });
    // The spec's defaults apply as they do to a request.
    expect(jobMessage.parse({ type: "fail", payload: {}, ...envelope }).payload).toEqual({
      reason: "deliberate failure",
    });
    const refused = [
      { type: "teleport", payload: {}, ...envelope },
      { type: "hash", payload: { data: "x", rounds: 0 }, ...envelope },
      { type: "hash", payload: { data: "x", rounds: 1, extra: true }, ...envelope },
      { type: "sleep", payload: { ms: 5 }, ...envelope, submittedAt: "yesterday" },
      { type: "sleep", payload: { ms: 5 }, id: envelope.id, submittedAt: envelope.submittedAt },
    ];
    for (const m of refused) expect(jobMessage.safeParse(m).success, JSON.stringify(m)).toBe(false);
  });
});
