import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { MAX_BODY_BYTES } from "@ktsw/task-shared/contracts";
import { describe, expect, test } from "vitest";

// The gateway's door at its default limits, probed as an attacker would: what is refused is a 4xx
// problem naming the cause (never a 5xx the client would retry), and nothing is stored or queued.

interface Problem {
  status: number;
  title: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

describe.skipIf(skipReason)("the gateway's door", () => {
  const s = useStack();
  const reject = (body: unknown, opts?: Parameters<typeof s.submit>[1]) => s.storesNothing(() => s.submit(body, opts));
  const problemOf = async (res: Response) => {
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    return (await res.json()) as Problem;
  };

  test("an unknown top-level field → 400 naming it (not silently dropped)", async () => {
    const res = await reject({ type: "hash", payload: { data: "x", rounds: 1 }, priority: "high" });
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p.errors).toEqual([{ path: "/priority", message: "unknown field" }]);
    expect(p.detail).toMatch(/\/priority: unknown field/);
  });

  test.each([
    ["U+0000", '{"type":"wordstats","payload":{"text":"a\\u0000b"}}', /U\+0000/],
    ["a lone surrogate", '{"type":"wordstats","payload":{"text":"a\\ud800b"}}', /lone surrogate/],
  ])("%s in the payload → 400 with its JSON pointer, not a 503 database outage", async (_what, body, why) => {
    const res = await reject(body);
    expect(res.status).toBe(400);
    expect(res.headers.get("retry-after")).toBeNull();
    expect((await problemOf(res)).errors).toEqual([{ path: "/payload/text", message: expect.stringMatching(why) }]);
  });

  test("one size limit: 60 000 characters that fit in 64 KiB are accepted", async () => {
    const res = await s.submit({ type: "wordstats", payload: { text: "ab ".repeat(20_000) } });
    expect(res.status).toBe(202);
  });

  test("one size limit: 30 000 three-byte characters (90 KB) → 413, whatever the character count", async () => {
    const body = JSON.stringify({ type: "wordstats", payload: { text: "€".repeat(30_000) } });
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY_BYTES);
    const res = await reject(body);
    expect(res.status).toBe(413);
  });

  test("an idempotency key reused with another body → 409; the same body (any key order) → the same job", async () => {
    const token = await s.token({ sub: "stripe-fan" });
    const first = await s.submit(
      { type: "hash", payload: { data: "a", rounds: 2 }, idempotencyKey: "pay-1" },
      { token },
    );
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    const other = await reject({ type: "hash", payload: { data: "b", rounds: 2 }, idempotencyKey: "pay-1" }, { token });
    expect(other.status).toBe(409);
    expect((await problemOf(other)).detail).toMatch(/idempotency key was already used with a different request/);
    const otherType = await reject({ type: "wordstats", payload: { text: "a" }, idempotencyKey: "pay-1" }, { token });
    expect(otherType.status).toBe(409);
    const retry = await s.submit('{"idempotencyKey":"pay-1","payload":{"rounds":2,"data":"a"},"type":"hash"}', {
      token,
    });
    expect(retry.status).toBe(202);
    expect(await retry.json()).toMatchObject({ id, duplicate: true });
  });

  test.each([
    ["a negative number", { type: "hash", payload: { data: "x", rounds: -1 } }, "/payload/rounds"],
    ["a huge number", { type: "hash", payload: { data: "x", rounds: 1e300 } }, "/payload/rounds"],
    ["a fraction", { type: "hash", payload: { data: "x", rounds: 1.5 } }, "/payload/rounds"],
    ["a number as a string", { type: "hash", payload: { data: "x", rounds: "1" } }, "/payload/rounds"],
    ["an array for the payload", { type: "wordstats", payload: ["x"] }, "/payload"],
    ["__proto__ in the payload", JSON.parse('{"type":"wordstats","payload":{"text":"x","__proto__":{"a":1}}}'), ""],
  ])("%s → 400", async (_what, body, path) => {
    const res = await reject(body);
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    if (path) expect(p.errors?.map((e) => e.path)).toContain(path);
  });

  test("a number beyond double range (1e999) → 400, not Infinity", async () => {
    const res = await reject('{"type":"hash","payload":{"data":"x","rounds":1e999}}');
    expect(res.status).toBe(400);
  });

  test("deep JSON nesting within the size limit → 400, never a 500 or a crash", async () => {
    const depth = 30_000;
    const res = await reject(`{"type":"wordstats","payload":{"text":${"[".repeat(depth)}${"]".repeat(depth)}}}`);
    expect(res.status).toBe(400);
    expect((await s.submit({ type: "hash", payload: { data: "still up", rounds: 1 } })).status).toBe(202);
  });

  test("a JSON body in a charset other than UTF-8 → 415", async () => {
    const res = await reject(Buffer.from(JSON.stringify({ type: "wordstats", payload: { text: "x" } }), "utf16le"), {
      headers: { "content-type": "application/json; charset=utf-16" },
    });
    expect(res.status).toBe(415);
  });

  test("headers beyond the server's limit → 431, before any work", async () => {
    const res = await reject(
      { type: "hash", payload: { data: "x", rounds: 1 } },
      {
        headers: { "x-padding": "x".repeat(64 * 1024) },
      },
    );
    expect(res.status).toBe(431);
  });

  test("a duplicated JSON key cannot smuggle a second type past the check", async () => {
    const res = await reject('{"type":"hash","type":"wordstats","payload":{"data":"x","rounds":1}}');
    expect(res.status).toBe(400);
  });
});
