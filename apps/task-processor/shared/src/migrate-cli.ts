import { z } from "zod";
import { loadConfig } from "./config.ts";
import { createPool, migrate } from "./db.ts";

// `npm run migrate -w @ktsw/task-shared`: the only way the schema changes; nothing migrates on import.
const cfg = loadConfig(z.object({ DATABASE_URL: z.string().min(1) }), process.env);
const pool = createPool(cfg.DATABASE_URL, 1);
try {
  const applied = await migrate(pool);
  console.log(JSON.stringify({ msg: "migrations applied", applied }));
} catch (err) {
  console.error(JSON.stringify({ msg: "migration failed", error: (err as Error).message }));
  process.exitCode = 1;
} finally {
  await pool.end();
}
