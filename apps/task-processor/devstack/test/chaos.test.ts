import { describe, expect, test } from "vitest";
import { defaultSettings, type ExperimentResult, formatResults, runExperiment } from "../src/chaos.ts";
import { EXPERIMENTS } from "../src/experiments.ts";
import { skipReason } from "../src/testkit.ts";

// The short fault suite (`npm run chaos:local` is the full one): each experiment on its own
// servers and processes, with fewer jobs and a short outage. The recovery times are printed, never
// asserted.

const settings = {
  ...defaultSettings,
  jobs: 300,
  outageMs: 5_000,
  failoverMs: 1_000,
  settleMs: 90_000,
  env: { ...defaultSettings.env, ACK_WAIT_MS: "5000" },
};

/** What each experiment must have seen happen, or it did not test what it names. */
const MUST_SEE: Record<string, string[]> = {
  "latency + loss to NATS and PostgreSQL": [
    "stalled chunks (NATS)",
    "stalled chunks (PostgreSQL)",
    "connection resets (NATS)",
    "connection resets (PostgreSQL)",
    "worker circuit breaker open",
    "worker circuit breaker closed",
    "gateway 503s (retried)",
  ],
  "Redis down": ["status reads while Redis was down", "cache hits once Redis was back"],
};

describe.skipIf(skipReason)("fault suite (short)", () => {
  test.each(EXPERIMENTS.map((e) => [e.name, e] as const))(
    "%s: every accepted job ends, once, with one effect; no process crashes",
    async (name, exp) => {
      const r = await runExperiment(exp, settings);
      console.log(formatResults([r]));
      expect(r.jobs).toBe(settings.jobs);
      expect(r).toMatchObject({ lost: 0, duplicated: 0, stuck: 0, crashes: 0, violations: [] });
      for (const what of MUST_SEE[name] ?? []) expect(r.seen[what], what).toBeGreaterThan(0);
    },
    180_000,
  );
});

describe("formatResults", () => {
  const result: ExperimentResult = {
    experiment: "Redis down",
    jobs: 300,
    lost: 0,
    duplicated: 0,
    stuck: 0,
    crashes: 0,
    recoverySec: 1.5,
    violations: [],
    seen: {},
  };

  test("one row per experiment, in the columns the README's table has", () => {
    expect(formatResults([result]).split("\n")).toEqual([
      "| experiment | jobs | lost | duplicated | stuck | crashes | recovery s |",
      "|---|---|---|---|---|---|---|",
      "| Redis down | 300 | 0 | 0 | 0 | 0 | 1.5 |",
    ]);
  });

  test("under the table: what each fault did, every broken promise, and a finding marked as one", () => {
    const lines = formatResults([
      { ...result, seen: { "status reads while Redis was down": 40 }, violations: ["GET answered 503"] },
      { ...result, experiment: "failover", finding: "async loses commits" },
    ]).split("\n");
    expect(lines.slice(4)).toEqual([
      "",
      "Redis down: status reads while Redis was down 40",
      "Redis down: BROKEN: GET answered 503",
      "failover: finding (not a failure): async loses commits",
    ]);
  });
});
