import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { beforeAll, describe, expect, test } from "vitest";

// A dependency that is down at the moment of a request: 503 with Retry-After, and no half-written
// job (no row without a message, no message without a row).

const job = { type: "hash", payload: { data: "outage", rounds: 1 }, idempotencyKey: "outage-1" };

// Each outage is the fixture of its own stack: the server goes down once every service is up,
// before any test, so every test of the block sees the same outage whatever order they run in.
// The stack (and the stopped server's temp dir) is torn down after the block.

describe.skipIf(skipReason)("gateway when PostgreSQL is down", () => {
  const s = useStack({ env: { RETRY_AFTER_SEC: "7" } });
  beforeAll(async () => {
    if (!skipReason) await s.infra.postgres.stop();
  });

  test("POST answers 503 + Retry-After and publishes nothing; readiness reports postgres", async () => {
    const nc = await connect({ servers: s.infra.nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const before = (await jsm.streams.info("JOBS")).state.last_seq;
      const res = await s.submit(job);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("7");
      const body = (await res.json()) as { detail: string };
      expect(body.detail).toMatch(/PostgreSQL is unavailable/);
      expect((await jsm.streams.info("JOBS")).state.last_seq).toBe(before);
    } finally {
      await nc.close();
    }
    const ready = await fetch(`${s.svc.gatewayUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.postgres).not.toBe("ok");
    expect((await fetch(`${s.svc.gatewayUrl}/healthz`)).status).toBe(200);
  });

  test("the status API answers 503 for a lookup it cannot serve", async () => {
    const res = await s.getJob("00000000-0000-4000-8000-000000000000");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
  });
});

describe.skipIf(skipReason)("gateway when NATS is down", () => {
  const s = useStack({ env: { PUBLISH_TIMEOUT_MS: "1000", RETRY_AFTER_SEC: "3" } });
  beforeAll(async () => {
    if (!skipReason) await s.infra.nats.stop();
  });

  test("POST answers 503 + Retry-After and leaves no job row behind", async () => {
    const res = await s.submit(job);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(((await res.json()) as { detail: string }).detail).toMatch(/NATS JetStream is unavailable/);
    const { rows } = await s.svc.pool.query("SELECT count(*)::int AS n FROM jobs");
    expect(rows[0].n).toBe(0);
    expect((await fetch(`${s.svc.gatewayUrl}/readyz`)).status).toBe(503);
  });
});
