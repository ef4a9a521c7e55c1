import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { startPostgres } from "@ktsw/task-devstack/servers";
import { skipReason } from "@ktsw/task-devstack/testkit";
import pg from "pg";
import { describe, expect, test } from "vitest";

const run = promisify(execFile);
const pkg = join(import.meta.dirname, "..");

// The schema changes only through the `migrate` command, once per migration, whoever runs it.

describe.skipIf(skipReason)("migrate command", () => {
  test("applies the migrations once; a second run applies nothing; a bad URL fails clearly", async () => {
    const server = await startPostgres();
    try {
      const db = new pg.Client({ connectionString: server.url });
      await db.connect();
      const tables = async () =>
        (await db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map(
          (r) => r.tablename,
        );
      expect(await tables()).toEqual([]); // nothing happens on its own

      const env = { ...process.env, DATABASE_URL: server.url };
      const first = await run("npm", ["run", "-s", "migrate"], { cwd: pkg, env });
      // Every migration file, in name order (001_jobs.sql first).
      const files = readdirSync(join(pkg, "migrations"))
        .filter((f) => f.endsWith(".sql"))
        .sort();
      expect(files[0]).toBe("001_jobs.sql");
      expect(JSON.parse(first.stdout.trim())).toEqual({ msg: "migrations applied", applied: files });
      expect(await tables()).toEqual(["finished_job_counts", "job_results", "jobs", "schema_migrations"]);
      const second = await run("npm", ["run", "-s", "migrate"], { cwd: pkg, env });
      expect(JSON.parse(second.stdout.trim()).applied).toEqual([]);
      await db.end();

      const bad = await run("npm", ["run", "-s", "migrate"], {
        cwd: pkg,
        env: { ...process.env, DATABASE_URL: "postgres://app@127.0.0.1:1/none" },
      }).catch((e: { code: number; stderr: string }) => e);
      expect((bad as { code: number }).code).not.toBe(0);
      expect((bad as { stderr: string }).stderr).toMatch(/"msg":"migration failed"/);
    } finally {
      await server.stop();
    }
  });
});
