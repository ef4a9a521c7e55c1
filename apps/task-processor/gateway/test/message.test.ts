import { jobMessage } from "@ktsw/task-shared/contracts";
import { HttpProblem } from "@ktsw/task-shared/problem";
import { describe, expect, test } from "vitest";
import { jobId } from "../src/ids.ts";
import { toJobMessage } from "../src/message.ts";

// The gateway builds the queued message and parses it with the contract the workers use.

const now = new Date("2026-01-01T00:00:00.000Z");
const secret = "s".repeat(32);

describe("the job message the gateway queues", () => {
  test("is the request's spec with a derived id, the submitter and the time, as the worker parses it", () => {
    const m = toJobMessage({ type: "fail", payload: { reason: "x" }, idempotencyKey: "k-1" }, "alice", now, secret);
    expect(m).toEqual({
      type: "fail",
      payload: { reason: "x" },
      id: jobId(secret, "alice", "k-1"),
      submittedBy: "alice",
      submittedAt: "2026-01-01T00:00:00.000Z",
    });
    expect(jobMessage.parse(m)).toEqual(m);
  });

  test("a submitter the contract cannot record is a 400 naming the token's sub, not a queued poison message", () => {
    let err: unknown;
    try {
      toJobMessage({ type: "hash", payload: { data: "x", rounds: 1 } }, "s".repeat(300), now, secret);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpProblem);
    const { problem } = err as HttpProblem;
    expect(problem.status).toBe(400);
    expect(problem.detail).toMatch(/the token's subject \(sub\): .*256/);
    expect(problem.errors).toEqual([{ path: "/submittedBy", message: expect.stringMatching(/256/) }]);
  });
});
