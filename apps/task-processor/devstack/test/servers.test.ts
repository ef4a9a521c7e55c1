import { existsSync } from "node:fs";
import { createPool } from "@ktsw/task-shared/db";
import { describe, expect, test } from "vitest";
import {
  isListening,
  promotePostgres,
  startNats,
  startPostgres,
  startPostgresReplica,
  startRedis,
} from "../src/servers.ts";
import { skipReason } from "../src/testkit.ts";

// The lab's servers start from the installed binaries on free ports and leave nothing behind.

describe.skipIf(skipReason)("devstack servers", () => {
  test("each server answers on its port, and stop() ends the process and removes its temp dir", async () => {
    const servers = await Promise.all([startNats(), startPostgres(), startRedis()]);
    for (const s of servers) {
      expect(await isListening(s.port)).toBe(true);
      expect(existsSync(s.dir)).toBe(true);
    }
    await Promise.all(servers.map((s) => s.stop()));
    for (const s of servers) {
      expect(s.process.exitCode !== null || s.process.signalCode !== null).toBe(true);
      expect(await isListening(s.port)).toBe(false);
      expect(existsSync(s.dir)).toBe(false);
    }
  });

  test("postgres runs as an unprivileged user even when the tests run as root", async () => {
    const pg = await startPostgres();
    try {
      const { execFileSync } = await import("node:child_process");
      const pid = pg.process.pid as number;
      const user = execFileSync("ps", ["-o", "user=", "-p", String(pid)], { encoding: "utf8" }).trim();
      expect(user).not.toBe("root");
    } finally {
      await pg.stop();
    }
  });

  test("a replica streams the primary's commits and, promoted, takes writes of its own", async () => {
    const primary = await startPostgres();
    const cleanup: (() => Promise<unknown>)[] = [() => primary.stop()];
    try {
      const replica = await startPostgresReplica(primary);
      cleanup.push(() => replica.stop());
      const onPrimary = createPool(primary.url, 1);
      const onReplica = createPool(replica.url, 1);
      cleanup.push(
        () => onPrimary.end(),
        () => onReplica.end(),
      );
      await onPrimary.query("CREATE TABLE t (v int); INSERT INTO t VALUES (1)");
      await expect
        .poll(
          () =>
            onReplica.query("SELECT count(*)::int AS n FROM t").then(
              (r) => r.rows[0].n,
              () => -1,
            ),
          {
            timeout: 10_000,
          },
        )
        .toBe(1);
      await expect(onReplica.query("INSERT INTO t VALUES (2)")).rejects.toThrow(/read-only/);
      await promotePostgres(replica);
      await onReplica.query("INSERT INTO t VALUES (2)");
      expect((await onReplica.query("SELECT count(*)::int AS n FROM t")).rows[0].n).toBe(2);
    } finally {
      for (const c of cleanup.reverse()) await c().catch(() => {});
    }
  });
});
