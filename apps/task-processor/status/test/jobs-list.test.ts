import { randomUUID } from "node:crypto";
import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { describe, expect, test } from "vitest";
import { MAX_LIST_LIMIT } from "../src/jobs-query.ts";

// GET /v1/jobs: the caller's newest jobs, what the dashboard shows after a login or a reload.

interface ListBody {
  jobs: { id: string; type: string; status: string; error: string | null }[];
}
interface ProblemBody {
  status: number;
  errors: { path: string; message: string }[];
}

// One failed run dead-letters a job, so a `fail` job is failed within a second.
describe.skipIf(skipReason)("GET /v1/jobs", () => {
  const s = useStack({ env: { MAX_DELIVER: "1" } });

  const list = async (query: string, token: string) =>
    fetch(`${s.svc.statusUrl}/v1/jobs${query}`, { headers: { authorization: `Bearer ${token}` } });

  /** Submits jobs one after another as `token`'s subject; their ids in submission order. */
  async function submitAll(token: string, bodies: unknown[]): Promise<string[]> {
    const ids: string[] = [];
    for (const body of bodies) {
      const res = await s.submit(body, { token });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    return ids;
  }

  const wordstats = (text: string) => ({ type: "wordstats", payload: { text } });

  test("lists only the caller's jobs, newest first; another caller's never appear", async () => {
    const alice = await s.token({ sub: `alice-${randomUUID()}` });
    const bob = await s.token({ sub: `bob-${randomUUID()}` });
    const mine = await submitAll(alice, [wordstats("one"), wordstats("two"), wordstats("three")]);
    const theirs = await submitAll(bob, [wordstats("bob's")]);

    const res = await list("", alice);
    expect(res.status).toBe(200);
    expect(((await res.json()) as ListBody).jobs.map((j) => j.id)).toEqual([...mine].reverse());
    const other = (await (await list("", bob)).json()) as ListBody;
    expect(other.jobs.map((j) => j.id)).toEqual(theirs);
  });

  test("limit bounds the list: the newest N, at most 100", async () => {
    const carol = await s.token({ sub: `carol-${randomUUID()}` });
    const ids = await submitAll(carol, [wordstats("a"), wordstats("b"), wordstats("c")]);
    const two = (await (await list("?limit=2", carol)).json()) as ListBody;
    expect(two.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    expect((await list(`?limit=${MAX_LIST_LIMIT}`, carol)).status).toBe(200);
    for (const bad of ["0", String(MAX_LIST_LIMIT + 1), "ten", "1.5", "-1"]) {
      const res = await list(`?limit=${bad}`, carol);
      expect(res.status, bad).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/problem\+json/);
      expect(((await res.json()) as ProblemBody).errors.map((e) => e.path)).toEqual(["/limit"]);
    }
  });

  test("status=failed lists the caller's dead letters with their reason", async () => {
    const dave = await s.token({ sub: `dave-${randomUUID()}` });
    const [ok, failed] = await submitAll(dave, [wordstats("fine"), { type: "fail", payload: { reason: "boom" } }]);
    await s.waitForStatus(failed as string, "failed", 20_000, dave);
    await s.waitForStatus(ok as string, "succeeded", 20_000, dave);
    const body = (await (await list("?status=failed", dave)).json()) as ListBody;
    expect(body.jobs).toHaveLength(1);
    expect(body.jobs[0]).toMatchObject({ id: failed, type: "fail", status: "failed" });
    expect(body.jobs[0]?.error).toMatch(/boom/);
  });

  test("a bad status or an unknown parameter → 400 naming it by JSON pointer", async () => {
    const token = await s.token();
    const badStatus = await list("?status=done", token);
    expect(badStatus.status).toBe(400);
    expect(((await badStatus.json()) as ProblemBody).errors.map((e) => e.path)).toEqual(["/status"]);
    const typo = await list("?stauts=failed", token);
    expect(typo.status).toBe(400);
    expect(((await typo.json()) as ProblemBody).errors).toEqual([{ path: "/stauts", message: "unknown field" }]);
  });

  test("needs a token with jobs:read or jobs:write → 401 / 403", async () => {
    expect((await fetch(`${s.svc.statusUrl}/v1/jobs`)).status).toBe(401);
    expect((await list("", await s.token({ scope: "profile" }))).status).toBe(403);
  });
});
