// The standalone policy CLI as a real process: exit code and one located line per violation.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { fixturesDir, repoRoot } from "./paths.ts";

const gator = findTool("gator");
if (!gator) console.warn(`SKIPPING policy CLI tests: ${missingToolMessage("gator")}`);

function cli(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "packages/ktsw/src/policy/cli.ts", ...args], {
    cwd: repoRoot,
    encoding: "utf8",
  });
}

describe.skipIf(!gator)("policy cli", () => {
  test("a bad Deployment exits 1 with file:line findings", () => {
    const run = cli(join(fixturesDir, "bad-deployment.yaml"));
    expect(run.status).toBe(1);
    const lines = run.stdout.split("\n").filter((l) => l.includes("bad-deployment.yaml:"));
    expect(lines.length).toBeGreaterThan(0);
    expect(run.stdout).toMatch(
      /bad-deployment\.yaml:\d+:\d+ Deployment shop\/web: .*hostPath "\/var\/run\/docker\.sock"/,
    );
    expect(run.stdout).toMatch(new RegExp(`policy: ${lines.length} violation\\(s\\)`));
  });

  test("no arguments prints usage and exits 2", () => {
    const run = cli();
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("usage:");
  });
});
