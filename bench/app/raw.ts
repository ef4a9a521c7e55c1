import { performance } from "node:perf_hooks";
import { createPool } from "@ktsw/task-shared/db";
import { connectNats } from "@ktsw/task-shared/nats";

// The floors under both designs: what the servers themselves take, with no application around them.

/** Runs `count` calls of `op`, `parallel` at a time; returns calls per second. */
export async function perSecond(count: number, parallel: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await op(next++);
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

/** JetStream publish + PubAck, `parallel` in flight, into a stream of its own. */
export async function rawJetStream(natsUrl: string, count: number, parallel: number): Promise<number> {
  const { nc, js, jsm } = await connectNats(natsUrl, "bench-raw");
  try {
    await jsm.streams.add({ name: "BENCH_RAW", subjects: ["bench.raw"] });
    const body = JSON.stringify({ type: "hash", payload: { data: "bench job", rounds: 1 } });
    await perSecond(Math.min(1000, count), parallel, () => js.publish("bench.raw", body));
    const rate = await perSecond(count, parallel, () => js.publish("bench.raw", body));
    await jsm.streams.delete("BENCH_RAW");
    return rate;
  } finally {
    await nc.close();
  }
}

/** Single-row INSERTs of a job-like row, one per statement, over `connections` connections. */
export async function rawPostgres(databaseUrl: string, count: number, connections: number): Promise<number> {
  const pool = createPool(databaseUrl, connections);
  try {
    await pool.query(
      "CREATE TABLE IF NOT EXISTS bench_raw (id bigint PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
    );
    const insert = (i: number) =>
      pool.query("INSERT INTO bench_raw (id, payload) VALUES ($1, $2)", [i, '{"data":"bench job","rounds":1}']);
    await perSecond(Math.min(1000, count), connections, (i) => insert(-1 - i));
    const rate = await perSecond(count, connections, insert);
    await pool.query("DROP TABLE bench_raw");
    return rate;
  } finally {
    await pool.end();
  }
}
