import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { describe, expect, test } from "vitest";

// Bad bodies get a clear 4xx problem naming what is wrong; nothing is stored or queued for them.
// Retried submissions with an idempotency key are deduplicated.

describe.skipIf(skipReason)("gateway request validation", () => {
  const s = useStack({ env: { BODY_LIMIT_BYTES: "4096" } });

  /** Submits a body that must be refused: nothing may be stored or queued for it. */
  const reject = (body: unknown, opts?: Parameters<typeof s.submit>[1]) => s.storesNothing(() => s.submit(body, opts));

  const problemOf = async (res: Response) => {
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    return (await res.json()) as {
      status: number;
      title: string;
      detail: string;
      errors?: { path: string; message: string }[];
    };
  };

  test("malformed JSON → 400 Malformed JSON", async () => {
    const res = await reject('{"type": "hash", "payload": ');
    expect(res.status).toBe(400);
    expect((await problemOf(res)).title).toBe("Malformed JSON");
  });

  test("an unknown job type → 400 naming the field", async () => {
    const res = await reject({ type: "mine-bitcoin", payload: {} });
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p.errors?.map((e) => e.path)).toContain("/type");
  });

  test("wrong types inside the payload → 400 with the JSON pointer of each", async () => {
    const res = await reject({ type: "hash", payload: { data: 42, rounds: "many" } });
    expect(res.status).toBe(400);
    const paths = (await problemOf(res)).errors?.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["/payload/data", "/payload/rounds"]));
  });

  test("unexpected payload fields are refused, not silently dropped", async () => {
    const res = await reject({ type: "wordstats", payload: { text: "a", extra: true } });
    expect(res.status).toBe(400);
  });

  test("an invalid idempotency key → 400", async () => {
    const res = await reject({
      type: "hash",
      payload: { data: "x", rounds: 1 },
      idempotencyKey: "spaces are not ok",
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe("/idempotencyKey");
  });

  test("a body over the size limit → 413", async () => {
    const res = await reject({ type: "wordstats", payload: { text: "x".repeat(8_000) } });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).title).toBe("Content Too Large");
  });

  test("a body that is not JSON at all → 415", async () => {
    const res = await reject("type=hash", { headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(415);
    await problemOf(res);
  });

  test("an unknown route → 404 problem", async () => {
    const res = await fetch(`${s.svc.gatewayUrl}/v1/nope`);
    expect(res.status).toBe(404);
    await problemOf(res);
  });

  test("a retried POST with the same idempotency key returns the same job and queues it once", async () => {
    const body = { type: "hash", payload: { data: "once", rounds: 3 }, idempotencyKey: "order-42" };
    const token = await s.token({ sub: "alice" });
    const first = await s.submit(body, { token });
    expect(first.status).toBe(202);
    const a = (await first.json()) as { id: string; statusUrl: string; duplicate: boolean };
    expect(a.statusUrl).toBe(`/v1/jobs/${a.id}`);
    expect(first.headers.get("location")).toBe(a.statusUrl);
    const second = await s.submit(body, { token });
    expect(second.status).toBe(202);
    const b = (await second.json()) as { id: string; duplicate: boolean };
    expect(b.id).toBe(a.id);
    expect(b.duplicate).toBe(true);
    await s.waitForStatus(a.id, "succeeded", undefined, token);
    const { rows } = await s.svc.pool.query("SELECT attempts FROM jobs WHERE id = $1", [a.id]);
    expect(rows).toEqual([{ attempts: 1 }]);
    // Another caller using the same key gets a job of its own.
    const other = (await (await s.submit(body, { token: await s.token({ sub: "bob" }) })).json()) as { id: string };
    expect(other.id).not.toBe(a.id);
  });

  test("JetStream itself deduplicates a re-published message with the same Nats-Msg-Id", async () => {
    const js = s.svc.nats.js;
    const msg = JSON.stringify({ nonce: "dedupe-probe" });
    // `jobs.probe` is no job type: the worker dead-letters it, which is fine for this check.
    const first = await js.publish("jobs.probe", msg, { msgID: "probe-1" });
    const again = await js.publish("jobs.probe", msg, { msgID: "probe-1" });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
  });
});
