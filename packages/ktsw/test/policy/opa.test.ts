// Every policy's Rego unit tests (suite samples, the YAML next to them, are not OPA data: --ignore), run by the real `opa test` (the OPA release Gatekeeper embeds).
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { writeGatekeeperCapabilities } from "../../src/policy/capabilities.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { policiesDir } from "./paths.ts";

const opa = findTool("opa");
if (!opa) console.warn(`SKIPPING opa tests: ${missingToolMessage("opa")}`);

const policyNames = readdirSync(policiesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== "lib")
  .map((d) => d.name);

/** Test rule names declared in a policy's _test.rego file. */
function declaredTests(name: string): string[] {
  const text = readFileSync(join(policiesDir, name, `${name}_test.rego`), "utf8");
  return [...text.matchAll(/^(test_\w+) if/gm)].map((m) => m[1] as string);
}

interface OpaTestResult {
  package: string;
  name: string;
  fail?: boolean;
  error?: unknown;
  skip?: boolean;
}

describe.skipIf(!opa)("opa test", () => {
  // Gatekeeper's external_data builtin declared, so the policy that calls Ratify compiles (its tests mock the call).
  let capabilitiesFile: string | undefined;
  const capabilities = () => {
    capabilitiesFile ??= writeGatekeeperCapabilities(opa as string);
    return capabilitiesFile;
  };
  afterAll(() => {
    if (capabilitiesFile) rmSync(dirname(capabilitiesFile), { recursive: true, force: true });
  });

  test("the policies directory has eight policies", () => {
    expect(policyNames.sort()).toEqual([
      "k8scontainerresources",
      "k8shostisolation",
      "k8simageprovenance",
      "k8snamespaceisolation",
      "k8snonrootcontainers",
      "k8srequiredlabels",
      "k8srequiredprobes",
      "k8ssignedimages",
    ]);
  });

  test.each(policyNames)("%s has at least 3 denying and 3 allowing unit tests", (name) => {
    const tests = declaredTests(name);
    expect(tests.filter((t) => t.startsWith("test_denies_")).length).toBeGreaterThanOrEqual(3);
    expect(tests.filter((t) => t.startsWith("test_allows_")).length).toBeGreaterThanOrEqual(3);
  });

  test("every unit test runs and passes", () => {
    const out = execFileSync(
      opa as string,
      ["test", policiesDir, "--ignore", "*.yaml", "--capabilities", capabilities(), "--format", "json"],
      {
        encoding: "utf8",
      },
    );
    const results = JSON.parse(out) as OpaTestResult[];
    const failed = results.filter((r) => r.fail || r.error || r.skip);
    expect(failed).toEqual([]);
    const ran = results.map((r) => `${r.package}.${r.name}`).sort();
    const declared = policyNames.flatMap((n) => declaredTests(n).map((t) => `data.${n}_test.${t}`)).sort();
    expect(ran).toEqual(declared);
  });

  test("the Rego is opa-fmt formatted and passes strict checks", () => {
    const fmt = spawnSync(opa as string, ["fmt", "--list", policiesDir], { encoding: "utf8" });
    expect(fmt.stdout.trim()).toBe("");
    const check = spawnSync(
      opa as string,
      ["check", "--strict", "--ignore", "*.yaml", "--capabilities", capabilities(), policiesDir],
      {
        encoding: "utf8",
      },
    );
    expect(check.stderr + check.stdout).toBe("");
    expect(check.status).toBe(0);
  });
});
