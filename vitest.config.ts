import { defineConfig } from "vitest/config";

// Every run shuffles files and tests, so a test that leans on another's leftovers fails here first,
// not on someone else's machine. The seed is printed last; `KTSW_TEST_SEED=N npm test` replays an order.
const seed = Number(process.env.KTSW_TEST_SEED ?? Date.now() % 1_000_000);

// One runner for the whole monorepo. Suites that need real servers (NATS, Postgres, Redis, FRR in
// network namespaces) run in the same `npm test`; they start what they need and skip loudly when
// a prerequisite (root, a binary) is missing — never silently.
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "apps/**/test/**/*.test.ts", "bench/test/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites with servers or namespaces must not trample each other's ports on 2 cores.
    fileParallelism: false,
    sequence: { shuffle: true, seed },
    reporters: ["default", "./test-support/summary-reporter.ts"],
  },
});
