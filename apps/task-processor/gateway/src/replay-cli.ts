import { gatewayEnv, loadConfig } from "@ktsw/task-shared/config";
import { createPool } from "@ktsw/task-shared/db";
import { connectNats } from "@ktsw/task-shared/nats";
import { replayJob } from "./replay.ts";

// `npm run replay -w @ktsw/task-gateway -- <job id>...`: an operator replays failed (dead-lettered)
// jobs, anyone's, with the same rules as POST /v1/jobs/{id}/replay. Prints one JSON line per job;
// exits 1 if any could not be replayed.
const cfg = loadConfig(gatewayEnv.pick({ DATABASE_URL: true, NATS_URL: true, PUBLISH_TIMEOUT_MS: true }), process.env);
const ids = process.argv.slice(2);
if (ids.length === 0) {
  console.error("usage: npm run replay -w @ktsw/task-gateway -- <job id>...");
  process.exit(2);
}
const pool = createPool(cfg.DATABASE_URL, 1);
const nats = await connectNats(cfg.NATS_URL, "task-replay");
try {
  for (const id of ids) {
    const outcome = await replayJob({ nats, pool, publishTimeoutMs: cfg.PUBLISH_TIMEOUT_MS }, id).catch(
      (err: Error) => ({ kind: "error" as const, error: err.message }),
    );
    console.log(JSON.stringify({ id, ...outcome }));
    if (outcome.kind !== "replayed") process.exitCode = 1;
  }
} finally {
  await nats.nc.drain();
  await pool.end();
}
