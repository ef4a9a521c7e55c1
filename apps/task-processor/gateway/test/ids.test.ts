import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { jobId } from "../src/ids.ts";

const secret = "s".repeat(32);

describe("job ids", () => {
  test("the same caller and idempotency key always give the same RFC 9562 v8 UUID", () => {
    const a = jobId(secret, "alice", "order-1");
    expect(a).toBe(jobId(secret, "alice", "order-1"));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test("another caller or another key gives another id; no key gives a random one", () => {
    expect(jobId(secret, "bob", "order-1")).not.toBe(jobId(secret, "alice", "order-1"));
    expect(jobId(secret, "alice", "order-2")).not.toBe(jobId(secret, "alice", "order-1"));
    expect(jobId(secret, "alice")).not.toBe(jobId(secret, "alice"));
  });

  test("an id cannot be computed from the caller and key alone: it depends on the gateway's secret", () => {
    const id = jobId(secret, "alice", "order-1");
    expect(jobId("t".repeat(32), "alice", "order-1")).not.toBe(id);
    // What the ids used to be (a plain hash of caller and key) no longer matches.
    const plain = createHash("sha256").update("alice\norder-1").digest("hex");
    expect(id.replaceAll("-", "").slice(0, 12)).not.toBe(plain.slice(0, 12));
  });
});
