import { type RunningServer, startPostgres } from "@ktsw/task-devstack/servers";
import { skipReason } from "@ktsw/task-devstack/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createPool, type Pool } from "../src/db.ts";

// A PostgreSQL restart terminates every backend with 57P01. A client checked out of the pool at that
// moment must not take the process down; the pool hands out a working client afterwards.

describe.skipIf(skipReason)("createPool when the server terminates a checked-out connection", () => {
  let server: RunningServer;
  let pool: Pool;
  let admin: pg.Client;
  beforeAll(async () => {
    server = await startPostgres();
    pool = createPool(server.url, 2);
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await pool?.end();
    await server?.stop();
  });

  test("the checked-out client's error is handled, its query rejects with 57P01, the next checkout works", async () => {
    const client = await pool.connect();
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on("uncaughtException", onUncaught);
    try {
      expect(client.listenerCount("error"), "a checked-out client needs its own error listener").toBeGreaterThan(0);
      const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
      const errored = new Promise<Error>((resolve) => client.once("error", resolve));
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      expect((await errored) as Error & { code?: string }).toMatchObject({ code: "57P01" });
      await expect(client.query("SELECT 1")).rejects.toThrow();
      expect(uncaught).toEqual([]);
    } finally {
      client.release(true);
      process.off("uncaughtException", onUncaught);
    }
    const { rows } = await pool.query("SELECT 1 AS ok");
    expect(rows).toEqual([{ ok: 1 }]);
  });
});
