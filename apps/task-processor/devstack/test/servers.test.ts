import { existsSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { isListening, startNats, startPostgres, startRedis } from "../src/servers.ts";
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
});
