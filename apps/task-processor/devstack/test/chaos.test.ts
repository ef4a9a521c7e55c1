import { describe, expect, test } from "vitest";
import { defaultSettings, EXPERIMENTS, formatResults, runExperiment } from "../src/chaos.ts";
import { skipReason } from "../src/testkit.ts";

// The short fault suite (`npm run chaos:local` is the full one): each experiment on its own
// servers and processes, with fewer jobs and a short outage. The recovery times are printed, never
// asserted.

const settings = {
  ...defaultSettings,
  jobs: 300,
  outageMs: 5_000,
  settleMs: 90_000,
  env: { ...defaultSettings.env, ACK_WAIT_MS: "5000" },
};

describe.skipIf(skipReason)("fault suite (short)", () => {
  test.each(EXPERIMENTS.map((e) => [e.name, e] as const))(
    "%s: every accepted job ends, once, with one effect; no process crashes",
    async (_name, exp) => {
      const r = await runExperiment(exp, settings);
      console.log(formatResults([r]));
      expect(r.jobs).toBe(settings.jobs);
      expect(r).toMatchObject({ lost: 0, duplicated: 0, stuck: 0, crashes: 0 });
    },
    180_000,
  );
});
