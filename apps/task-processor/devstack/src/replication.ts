import { createPool } from "@ktsw/task-shared/db";

// Synchronous replication as CNPG configures it with `postgresql.synchronous` (method any, number 1,
// dataDurability required): the primary acknowledges a commit only once a standby has it, so a
// failover to that standby cannot lose a commit the application was told succeeded. With the
// default asynchronous replication the standby trails by its lag, and commits inside that window
// die with the primary.

/** Makes every commit on the primary at `primaryUrl` wait for a standby, and waits until one is synchronous. */
export async function requireSynchronousStandby(primaryUrl: string, timeoutMs = 30_000): Promise<void> {
  const pool = createPool(primaryUrl, 1);
  try {
    await pool.query("ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (*)'");
    await pool.query("SELECT pg_reload_conf()");
    const until = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await pool.query(
        "SELECT count(*)::int AS n FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')",
      );
      if ((rows[0]?.n as number) > 0) return;
      if (Date.now() > until) throw new Error(`no synchronous standby within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await pool.end();
  }
}
