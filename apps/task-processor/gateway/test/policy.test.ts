import { gatewayEnv, loadConfig } from "@ktsw/task-shared/config";
import { HttpProblem } from "@ktsw/task-shared/problem";
import { describe, expect, test } from "vitest";
import { checkJobPolicy } from "../src/policy.ts";

const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpProblem);
    return (err as HttpProblem).problem;
  }
  throw new Error("expected a refusal");
};

describe("what a deployment lets callers ask for", () => {
  test("sleep jobs are off unless configured: the production default is 0", () => {
    const config = loadConfig(gatewayEnv, { OIDC_ISSUER: "https://issuer.example", JOB_ID_SECRET: "s".repeat(32) });
    expect(config.SLEEP_JOB_MAX_MS).toBe(0);
    const p = refusal(() => checkJobPolicy({ type: "sleep", payload: { ms: 1 } }, config));
    expect(p.status).toBe(400);
    expect(p.errors).toEqual([{ path: "/type", message: expect.stringMatching(/disabled/) }]);
  });

  test("where sleep jobs are on they are capped by SLEEP_JOB_MAX_MS", () => {
    const config = { SLEEP_JOB_MAX_MS: 5_000 };
    expect(() => checkJobPolicy({ type: "sleep", payload: { ms: 5_000 } }, config)).not.toThrow();
    const p = refusal(() => checkJobPolicy({ type: "sleep", payload: { ms: 5_001 } }, config));
    expect(p.errors).toEqual([{ path: "/payload/ms", message: "at most 5000 here" }]);
  });

  test("other job types are not affected", () => {
    expect(() =>
      checkJobPolicy({ type: "hash", payload: { data: "x", rounds: 1 } }, { SLEEP_JOB_MAX_MS: 0 }),
    ).not.toThrow();
  });
});
