import { randomUUID } from "node:crypto";
import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { SUBJECTS } from "@ktsw/task-shared/contracts";
import { describe, expect, test, vi } from "vitest";
import WebSocket from "ws";
import { MAX_UNKNOWN_IDS } from "../src/live.ts";

// The status service: lookups through Redis then Postgres, live transitions over WebSocket.

interface ServerMsg {
  type: string;
  job?: { id: string; status: string };
  event?: { id: string; status: string; attempt: number };
  message?: string;
  id?: string;
  status?: number;
}

/** A WebSocket client that records every message and the close code. */
function client(url: string) {
  const ws = new WebSocket(url.replace(/^http/, "ws"));
  const messages: ServerMsg[] = [];
  let closed: { code: number; reason: string } | undefined;
  ws.on("message", (d) => messages.push(JSON.parse(String(d))));
  ws.on("close", (code, reason) => {
    closed = { code, reason: String(reason) };
  });
  const opened = new Promise<void>((r, j) => {
    ws.once("open", () => r());
    ws.once("error", j);
  });
  return {
    ws,
    messages,
    opened,
    send: (m: unknown) => ws.send(typeof m === "string" ? m : JSON.stringify(m)),
    closed: () => closed,
    /** Waits until `pred` holds; fails with everything received so far when it does not in time. */
    until: (pred: () => boolean, timeoutMs = 15_000) =>
      vi.waitFor(
        () => {
          if (!pred()) throw new Error(`not yet; got ${JSON.stringify(messages)} closed=${JSON.stringify(closed)}`);
        },
        { timeout: timeoutMs, interval: 20 },
      ),
  };
}

describe.skipIf(skipReason)("status service", () => {
  const s = useStack();

  test("an unknown job id → 404 problem; a malformed one says what is wrong", async () => {
    const res = await s.getJob("3f1d7a8e-0000-4000-8000-000000000000");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
    const bad = await s.getJob("not-a-uuid");
    expect(bad.status).toBe(404);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/not a job id/);
  });

  test("lookups need a valid token", async () => {
    const res = await fetch(`${s.svc.statusUrl}/v1/jobs/3f1d7a8e-0000-4000-8000-000000000000`);
    expect(res.status).toBe(401);
    const expired = await s.getJob("3f1d7a8e-0000-4000-8000-000000000000", await s.token({ expiresIn: -3600 }));
    expect(expired.status).toBe(401);
  });

  test("a finished job is read from Postgres once, then served from the Redis cache", async () => {
    // Wait for the job's last status event, not for a status read (that would fill the cache):
    // the status service drops its cached copy on each event, so reading earlier could be undone.
    const events = s.svc.nats.nc.subscribe(SUBJECTS.eventsAll);
    const seen: { id: string; status: string }[] = [];
    void (async () => {
      for await (const m of events) seen.push(m.json());
    })();
    let id: string;
    try {
      const res = await s.submit({ type: "wordstats", payload: { text: "cache me" } });
      id = ((await res.json()) as { id: string }).id;
      await vi.waitFor(
        () => {
          if (!seen.some((e) => e.id === id && e.status === "succeeded"))
            throw new Error(`no succeeded event for ${id}`);
        },
        { timeout: 20_000, interval: 20 },
      );
    } finally {
      events.unsubscribe();
    }
    const first = await s.getJob(id);
    const second = await s.getJob(id);
    expect(first.headers.get("x-cache")).toBe("miss");
    expect(second.headers.get("x-cache")).toBe("hit");
    expect(await second.json()).toEqual(await first.json());
  });

  test("a WebSocket client sees its job's snapshot, then running → succeeded pushed as they happen", async () => {
    const token = await s.token({ sub: "watcher" });
    const c = client(`${s.svc.statusUrl}/v1/ws`);
    await c.opened;
    c.send({ type: "auth", token });
    await c.until(() => c.messages.some((m) => m.type === "ready"));
    // A job id is handed out by the gateway (it cannot be computed beforehand): submit, then watch.
    const res = await s.submit({ type: "sleep", payload: { ms: 500 }, idempotencyKey: "ws-1" }, { token });
    const { id } = (await res.json()) as { id: string };
    c.send({ type: "subscribe", ids: [id] });
    await c.until(() => c.messages.some((m) => m.event?.status === "succeeded"));
    const seen = c.messages.flatMap((m) =>
      m.type === "snapshot" ? [m.job?.status] : m.type === "event" ? [m.event?.status] : [],
    );
    // The snapshot shows where the job was when subscribing; events follow in order from there.
    const order = ["queued", "running", "succeeded"];
    expect(seen.at(-1)).toBe("succeeded");
    expect(seen.map((x) => order.indexOf(x as string))).toEqual(
      [...seen.map((x) => order.indexOf(x as string))].sort((a, b) => a - b),
    );
    expect(c.messages.find((m) => m.type === "snapshot")?.job?.id).toBe(id);
    // A late subscriber gets the current state as a snapshot.
    c.send({ type: "subscribe", ids: [id] });
    await c.until(() => c.messages.some((m) => m.type === "snapshot" && m.job?.status === "succeeded"));
    c.ws.close();
  });

  test("the status replica receives the events of only the jobs it has a use for: watched, or cached while moving", async () => {
    const metric = async (name: string) => {
      const metrics = await (await fetch(s.svc.metricsUrls.status)).text();
      return Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, "m").exec(metrics)?.[1] ?? Number.NaN);
    };
    const subscribedTo = () => metric("status_job_event_subscriptions");
    const received = () => metric("status_job_events_received_total");
    // What earlier tests cached while it moved lives out its short TTL first.
    await expect.poll(subscribedTo, { timeout: 15_000 }).toBe(0);
    const token = await s.token({ sub: "interest" });
    const submit = async (job: unknown) =>
      ((await (await s.submit(job as Parameters<typeof s.submit>[0], { token })).json()) as { id: string }).id;
    // Watched in Postgres: a read through the status service would cache the job while it moves.
    const reaches = (id: string, status: string) =>
      expect
        .poll(async () => (await s.svc.pool.query("SELECT status FROM jobs WHERE id = $1", [id])).rows[0]?.status, {
          timeout: 20_000,
        })
        .toBe(status);
    const before = await received();
    const unwatched = await submit({ type: "hash", payload: { data: "nobody watches", rounds: 1 } });
    await reaches(unwatched, "succeeded");
    expect(await subscribedTo()).toBe(0);
    expect(await received(), "events of a job nobody watches reached the status replica").toBe(before);

    const c = client(`${s.svc.statusUrl}/v1/ws`);
    await c.opened;
    c.send({ type: "auth", token });
    await c.until(() => c.messages.some((m) => m.type === "ready"));
    const watched = await submit({ type: "sleep", payload: { ms: 300 } });
    c.send({ type: "subscribe", ids: [watched] });
    await c.until(() => c.messages.some((m) => m.type === "snapshot"));
    expect(await subscribedTo()).toBe(1);
    await c.until(() => c.messages.some((m) => m.event?.status === "succeeded"));
    expect(await received()).toBeGreaterThan(before);
    c.send({ type: "unsubscribe", ids: [watched] });
    await expect.poll(subscribedTo).toBe(0);
    c.ws.close();

    // A running job read over HTTP is cached for a moment, and its events received for as long.
    const moving = await submit({ type: "sleep", payload: { ms: 3_000 } });
    await reaches(moving, "running");
    const read = await s.getJob(moving, token);
    expect(read.headers.get("x-cache")).toBe("miss");
    expect(((await read.json()) as { status: string }).status).toBe("running");
    expect(await subscribedTo()).toBe(1);
    await expect.poll(subscribedTo, { timeout: 15_000 }).toBe(0);
    // Nothing left running for the tests after this one (the queue depth counts it).
    await reaches(moving, "succeeded");
  });

  test("another caller's job is 404 over HTTP (cached or not) and over the WebSocket", async () => {
    const alice = await s.token({ sub: "alice", scope: "jobs:write jobs:read" });
    const mallory = await s.token({ sub: "mallory", scope: "jobs:read" });
    const res = await s.submit({ type: "wordstats", payload: { text: "private" } }, { token: alice });
    const { id } = (await res.json()) as { id: string };
    await s.waitForStatus(id, "succeeded", undefined, alice);
    // Alice's own reads fill the cache; Mallory gets the same 404 as for an id that never existed.
    await expect.poll(async () => (await s.getJob(id, alice)).headers.get("x-cache")).toBe("hit");
    const theirs = await s.getJob(id, mallory);
    expect(theirs.status).toBe(404);
    const never = await s.getJob("3f1d7a8e-0000-4000-8000-00000000abcd", mallory);
    expect(((await theirs.json()) as { title: string }).title).toBe(((await never.json()) as { title: string }).title);
    const c = client(`${s.svc.statusUrl}/v1/ws`);
    await c.opened;
    c.send({ type: "auth", token: mallory });
    c.send({ type: "subscribe", ids: [id] });
    await c.until(() => c.messages.some((m) => m.type === "error"));
    expect(c.messages.find((m) => m.type === "error")).toMatchObject({ id, status: 404 });
    expect(c.messages.some((m) => m.type === "snapshot")).toBe(false);
    // Not subscribed either: an event about that job reaches Alice's connection but never Mallory's.
    const own = client(`${s.svc.statusUrl}/v1/ws`);
    await own.opened;
    own.send({ type: "auth", token: alice });
    own.send({ type: "subscribe", ids: [id] });
    await own.until(() => own.messages.some((m) => m.type === "snapshot"));
    s.svc.nats.nc.publish(
      SUBJECTS.event(id, "succeeded"),
      JSON.stringify({ id, type: "wordstats", status: "succeeded", attempt: 1, at: new Date().toISOString() }),
    );
    await own.until(() => own.messages.some((m) => m.type === "event"));
    // The server has pushed that event to every subscriber by now; a reply on Mallory's connection
    // arrives after anything pushed to it before.
    c.send("{not json");
    await c.until(() => c.messages.filter((m) => m.type === "error").length === 2);
    expect(c.messages.some((m) => m.type === "event")).toBe(false);
    c.ws.close();
    own.ws.close();
  });

  test("lookups and live updates need a jobs:read or jobs:write scope → 403 / close 4401", async () => {
    const token = await s.token({ scope: "profile email" });
    const res = await s.getJob("3f1d7a8e-0000-4000-8000-000000000000", token);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/jobs:read/);
    const c = client(`${s.svc.statusUrl}/v1/ws`);
    await c.opened;
    c.send({ type: "auth", token });
    await c.until(() => c.closed() !== undefined);
    expect(c.closed()?.code).toBe(4401);
    const reader = await s.getJob("3f1d7a8e-0000-4000-8000-000000000000", await s.token({ scope: "jobs:read" }));
    expect(reader.status).toBe(404);
  });

  test("a WebSocket probing ids that are not its own is closed with 1008 after MAX_UNKNOWN_IDS lookups", async () => {
    const c = client(`${s.svc.statusUrl}/v1/ws`);
    await c.opened;
    c.send({ type: "auth", token: await s.token() });
    const probe = (n: number) => Array.from({ length: n }, () => randomUUID());
    c.send({ type: "subscribe", ids: probe(MAX_UNKNOWN_IDS - 1) });
    await c.until(() => c.messages.filter((m) => m.status === 404).length === MAX_UNKNOWN_IDS - 1);
    expect(c.closed()).toBeUndefined();
    c.send({ type: "subscribe", ids: probe(2) });
    await c.until(() => c.closed() !== undefined);
    expect(c.closed()).toEqual({ code: 1008, reason: "too many unknown job ids" });
    expect(c.messages.filter((m) => m.status === 404)).toHaveLength(MAX_UNKNOWN_IDS);
  });

  test("a WebSocket lives no longer than its token: closed with 4401 when it expires", async () => {
    const c = client(`${s.svc.statusUrl}/v1/ws`);
    await c.opened;
    c.send({ type: "auth", token: await s.token({ expiresIn: 2 }) });
    await c.until(() => c.messages.some((m) => m.type === "ready"));
    await c.until(() => c.closed() !== undefined, 10_000);
    expect(c.closed()).toEqual({ code: 4401, reason: "token expired" });
  });

  test("a WebSocket with a bad token is closed with 4401", async () => {
    const c = client(`${s.svc.statusUrl}/v1/ws`);
    await c.opened;
    c.send({ type: "auth", token: await s.token({ aud: "someone-else" }) });
    await c.until(() => c.closed() !== undefined);
    expect(c.closed()?.code).toBe(4401);
  });

  test("subscribing before authenticating closes with 4401; garbage gets an error message", async () => {
    const c = client(`${s.svc.statusUrl}/v1/ws`);
    await c.opened;
    c.send("{nope");
    await c.until(() => c.messages.some((m) => m.type === "error"));
    expect(c.messages[0]?.message).toMatch(/bad message/);
    c.send({ type: "subscribe", ids: ["3f1d7a8e-0000-4000-8000-000000000000"] });
    await c.until(() => c.closed() !== undefined);
    expect(c.closed()?.code).toBe(4401);
  });

  test("/v1/stats needs a token; /metrics is not served on the public port of any service", async () => {
    expect((await fetch(`${s.svc.statusUrl}/v1/stats`)).status).toBe(401);
    const noScope = await fetch(`${s.svc.statusUrl}/v1/stats`, {
      headers: { authorization: `Bearer ${await s.token({ scope: "profile" })}` },
    });
    expect(noScope.status).toBe(403);
    for (const url of [s.svc.statusUrl, s.svc.gatewayUrl, s.svc.workerUrl])
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
    for (const url of Object.values(s.svc.metricsUrls)) {
      expect(new URL(url).port).not.toBe("");
      expect((await fetch(url)).status).toBe(200);
    }
  });

  test("/v1/stats reports queue depth and counts; /metrics has RED metrics per route", async () => {
    expect((await s.getJob("3f1d7a8e-0000-4000-8000-000000000001")).status).toBe(404);
    const ids = await Promise.all(
      [
        { type: "hash", payload: { data: "counted", rounds: 1 } },
        { type: "wordstats", payload: { text: "counted too" } },
      ].map(async (job) => ((await (await s.submit(job)).json()) as { id: string }).id),
    );
    for (const id of ids) await s.waitForStatus(id, "succeeded");
    const token = await s.token();
    const stats = async () =>
      (await (
        await fetch(`${s.svc.statusUrl}/v1/stats`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as {
        queueDepth: number;
        counts: Record<string, number>;
      };
    // A job reads as succeeded once committed; its ack (leaving the backlog) follows right after.
    await expect.poll(async () => (await stats()).queueDepth).toBe(0);
    expect((await stats()).counts.succeeded).toBeGreaterThanOrEqual(2);
    const metrics = await (await fetch(s.svc.metricsUrls.status)).text();
    expect(metrics).toMatch(
      /http_requests_total\{route="\/v1\/jobs\/:id",method="GET",status="404",service="task-status"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",service="task-status",route="\/v1\/jobs\/:id"/,
    );
    expect(metrics).toMatch(/jetstream_consumer_pending_messages\{state="pending",service="task-status"\} 0/);
    const gw = await (await fetch(s.svc.metricsUrls.gateway)).text();
    expect(gw).toMatch(/jobs_submitted_total\{type="hash",duplicate="false",service="task-gateway"\} [1-9]/);
  });

  test("/readyz checks every dependency for real", async () => {
    const ok = await fetch(`${s.svc.statusUrl}/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "ready", checks: { nats: "ok", postgres: "ok", redis: "ok" } });
  });
});

// Stopping Redis would take the cache away from the tests above: this gets a stack of its own.
describe.skipIf(skipReason)("status service when Redis is down", () => {
  const s = useStack();

  test("lookups still answer from Postgres, even for a job that was cached, and readiness says why", async () => {
    const res = await s.submit({ type: "hash", payload: { data: "no cache", rounds: 1 } });
    const { id } = (await res.json()) as { id: string };
    await s.waitForStatus(id, "succeeded");
    await expect.poll(async () => (await s.getJob(id)).headers.get("x-cache")).toBe("hit");
    await s.infra.redis.stop();
    const r = await s.getJob(id);
    expect(r.status).toBe(200);
    expect(r.headers.get("x-cache")).toBe("miss");
    expect(((await r.json()) as { status: string }).status).toBe("succeeded");
    const ready = await fetch(`${s.svc.statusUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { redis: string } }).checks.redis).not.toBe("ok");
  });
});
