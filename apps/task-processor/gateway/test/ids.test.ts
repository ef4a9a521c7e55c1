import { describe, expect, test } from "vitest";
import { jobId } from "../src/ids.ts";

describe("job ids", () => {
  test("the same caller and idempotency key always give the same RFC 9562 v8 UUID", () => {
    const a = jobId("alice", "order-1");
    expect(a).toBe(jobId("alice", "order-1"));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test("another caller or another key gives another id; no key gives a random one", () => {
    expect(jobId("bob", "order-1")).not.toBe(jobId("alice", "order-1"));
    expect(jobId("alice", "order-2")).not.toBe(jobId("alice", "order-1"));
    expect(jobId("alice")).not.toBe(jobId("alice"));
  });
});
