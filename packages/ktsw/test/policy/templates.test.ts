// The ConstraintTemplates embed exactly the .rego files that opa tests (no drift), and the Flux
// kustomizations deploy every template and constraint.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { embeddedSource, importedLibs, readPolicySources, syncTemplate } from "../../src/policy/templates.ts";
import { gatekeeperDir, repoRoot } from "./paths.ts";

const sources = readPolicySources(repoRoot);

describe("ConstraintTemplates generated from .rego", () => {
  test.each(sources.map((s) => [s.name, s] as const))("%s embeds its current Rego and libs", (_name, source) => {
    const current = readFileSync(source.templateFile, "utf8");
    // If this fails: run `npx tsx packages/ktsw/src/policy/sync-templates.ts`.
    expect(current).toBe(syncTemplate(current, source.rego, source.libs));
    expect(embeddedSource(current)).toEqual({ rego: source.rego, libs: source.libs });
  });

  test.each(sources.map((s) => [s.name, s] as const))(
    "%s: names agree across template, package and constraint",
    (name, s) => {
      const template = parse(readFileSync(s.templateFile, "utf8"));
      expect(template.metadata.name).toBe(name);
      expect(template.spec.crd.spec.names.kind.toLowerCase()).toBe(name);
      expect(s.rego).toMatch(new RegExp(`^package ${name}$`, "m"));
      // One file per template; it may hold several constraints of that kind (k8ssignedimages: one per outcome).
      const constraints = parseAllDocuments(
        readFileSync(join(gatekeeperDir, "constraints", `${name}.yaml`), "utf8"),
      ).map((d) => d.toJS());
      expect(constraints.length).toBeGreaterThan(0);
      for (const constraint of constraints) expect(constraint.kind).toBe(template.spec.crd.spec.names.kind);
    },
  );

  test("syncTemplate replaces the Rego and keeps comments", () => {
    const text = readFileSync(sources[0]?.templateFile as string, "utf8");
    const changed = syncTemplate(text, "package changed\n", []);
    expect(embeddedSource(changed)).toEqual({ rego: "package changed\n", libs: [] });
    expect(changed.split("\n").slice(0, 3)).toEqual(text.split("\n").slice(0, 3));
  });

  test("importedLibs lists data.lib imports in order", () => {
    expect(importedLibs("package p\n\nimport data.lib.workloads\nimport data.lib.other\n")).toEqual([
      "workloads",
      "other",
    ]);
  });

  test("Flux deploys every template and constraint", () => {
    for (const sub of ["templates", "constraints"]) {
      const files = readdirSync(join(gatekeeperDir, sub)).filter((f) => f.startsWith("k8s"));
      const listed = parse(readFileSync(join(gatekeeperDir, sub, "kustomization.yaml"), "utf8")).resources as string[];
      expect(listed.filter((f) => f.startsWith("k8s")).sort()).toEqual(files.sort());
    }
  });
});
