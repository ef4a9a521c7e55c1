// Gatekeeper's own test runner over every policy's suite.yaml: the ConstraintTemplates are compiled
// the way the cluster compiles them (Rego v1 source, libs), constraints are instantiated with their
// real match and parameters, and referential cases get data.inventory from `inventory` files.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { usesExternalData } from "../../src/policy/templates.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { gatekeeperDir, policiesDir } from "./paths.ts";

const gator = findTool("gator");
if (!gator) console.warn(`SKIPPING gator verify tests: ${missingToolMessage("gator")}`);

const allPolicies = readdirSync(policiesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== "lib")
  .map((d) => d.name);
const rego = (name: string) => readFileSync(join(policiesDir, name, `${name}.rego`), "utf8");
// gator has no external_data builtin: a policy that asks a provider (Ratify) has unit tests with the call mocked
// instead of a suite, and the admission check itself is proven against the real verifier elsewhere.
const providerPolicies = allPolicies.filter((name) => usesExternalData(rego(name)));
const policyNames = allPolicies.filter((name) => !providerPolicies.includes(name));

describe.skipIf(!gator)("gator verify", () => {
  test.each(policyNames)("%s has a suite", (name) => {
    expect(existsSync(join(policiesDir, name, "suite.yaml"))).toBe(true);
  });

  test("every suite passes", () => {
    const run = spawnSync(gator as string, ["verify", "./..."], { cwd: policiesDir, encoding: "utf8" });
    const output = run.stdout + run.stderr;
    expect(output).not.toMatch(/FAIL/);
    expect(run.status).toBe(0);
    // One `ok` line per suite: none was silently skipped.
    const passed = [...output.matchAll(/^ok\s+\S*?([a-z0-9]+)\/suite\.yaml/gm)].map((m) => m[1]).sort();
    expect(passed).toEqual([...policyNames].sort());
  });

  test("only k8ssignedimages asks a provider, and gator really cannot compile it", () => {
    expect(providerPolicies).toEqual(["k8ssignedimages"]);
    const copy = mkdtempSync(join(tmpdir(), "ktsw-gator-"));
    try {
      const suite = join(copy, "suite.yaml");
      cpSync(join(gatekeeperDir, "templates/k8ssignedimages.yaml"), join(copy, "template.yaml"));
      writeFileSync(
        join(copy, "constraint.yaml"),
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sSignedImages\nmetadata:\n  name: c\n",
      );
      writeFileSync(
        join(copy, "pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n",
      );
      writeFileSync(
        suite,
        [
          "apiVersion: test.gatekeeper.sh/v1alpha1",
          "kind: Suite",
          "tests:",
          "  - name: t",
          "    template: template.yaml",
          "    constraint: constraint.yaml",
          "    cases:",
          "      - name: c",
          "        object: pod.yaml",
          "        assertions:",
          "          - violations: no",
          "",
        ].join("\n"),
      );
      const run = spawnSync(gator as string, ["verify", suite], { cwd: copy, encoding: "utf8" });
      expect(run.status).not.toBe(0);
      expect(run.stdout + run.stderr).toMatch(/undefined function external_data/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test("a suite with a wrong expectation fails (the runner really asserts)", () => {
    // Copy the policy tree, claim a compliant sample violates, and expect gator to disagree.
    const copy = mkdtempSync(join(tmpdir(), "ktsw-gator-"));
    try {
      cpSync(gatekeeperDir, copy, { recursive: true });
      const suite = join(copy, "policies/k8shostisolation/suite.yaml");
      const text = readFileSync(suite, "utf8");
      writeFileSync(suite, text.replace("violations: no", "violations: yes"));
      const run = spawnSync(gator as string, ["verify", "./policies/k8shostisolation/..."], {
        cwd: copy,
        encoding: "utf8",
      });
      expect(run.status).not.toBe(0);
      expect(run.stdout + run.stderr).toMatch(/FAIL/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
