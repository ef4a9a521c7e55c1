import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { imageProblem, isExactVersion } from "../../src/validate/pins.ts";
import { keptSubstitution, substituteManifests, substituteResource } from "../../src/validate/post-build.ts";
import { isValidVarName, referencedVars, substituteVars } from "../../src/validate/substitute.ts";

// Expected values are envsubst's own (fluxcd/pkg envsubst/eval_test.go, strict lookups as
// kustomize-controller >= v1.9 runs it), plus the cases where KTSW's earlier copies disagreed.
describe("Flux postBuild substitution semantics (fluxcd/pkg envsubst, strict)", () => {
  type Case = [input: string, vars: Record<string, string>, output: string];
  const evaluated: Case[] = [
    ["abcdEFGH28ij", {}, "abcdEFGH28ij"],
    ["${foo}", { foo: "bar" }, "bar"],
    ["${foo}", { foo: "" }, ""],
    ["${var=xyz}", { var: "abc" }, "abc"],
    ["${var=xyz}", {}, "xyz"],
    ["${var:=xyz}", {}, "xyz"],
    ["${missing:-fallback}", {}, "fallback"],
    ["${missing:=assigned}", {}, "assigned"],
    ["${missing=assigned}", {}, "assigned"],
    ["something ${var=${default_var}}", { default_var: "foo" }, "something foo"],
    ["foo: ${var=${default_var}-suffix}", { default_var: "foo1" }, "foo: foo1-suffix"],
    ["foo: ${var=prefix${default_var}-suffix}", { default_var: "foo1" }, "foo: prefixfoo1-suffix"],
    ["$${var01}", { var01: "abcdEFGH28ij" }, "${var01}"],
    [
      "some text ${var01}$${var$${var01}$var01${var01}",
      { var01: "abcdEFGH28ij" },
      "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij",
    ],
    ["something $${var=${default_var}}", { default_var: "foo" }, "something ${var=foo}"],
    ["\\\\something ${var=${default_var}}", { default_var: "foo" }, "\\\\something foo"],
    // Where the copies disagreed: envsubst gives the default for an empty value with `=` too.
    ["${Y=default}", { Y: "" }, "default"],
    ["${Y:-default}", { Y: "" }, "default"],
    ["${Y:=}", {}, ""],
    // `$$` is one `$`, and the `$` it yields never opens an expression.
    ["$$X $X", { X: "x" }, "$X $X"],
    ["$$$${X}", { X: "x" }, "$${X}"],
    ["$$${X}", { X: "x" }, "$x"],
    ["a$ }{ $", {}, "a$ }{ $"],
    // Inside a default `$$` is not an escape; `$VAR` stays literal there too.
    ["${A:=$B}", {}, "$B"],
    ["${A:=a:b=c-d}", {}, "a:b=c-d"],
    ["${A==x}", {}, "=x"],
  ];
  test.each(evaluated)("%j with %j gives %j", (input, vars, output) => {
    expect(substituteVars(input, vars)).toEqual({ text: output, undefinedVars: [], unsupported: [] });
  });

  test.each([
    ["${missing}", ["missing"]],
    ["${A:=${B}}", ["B"]],
    ["${A:=$${B}}", ["B"]],
    ["x: ${A}\ny: ${B}", ["A", "B"]],
  ])("strict: %j names its undefined variables %j", (input, names) => {
    expect(substituteVars(input, {}).undefinedVars).toEqual(names);
  });

  test.each([
    ["${Y-default}", "missing closing brace"],
    ["${Y+alt}", "missing closing brace"],
    ["a ${X b", "missing closing brace"],
    ["${X", "missing closing brace"],
    ["${}", "unable to parse variable name"],
    ["${ X}", "unable to parse variable name"],
    ["${A:=abc", "unable to parse substitution within function"],
    ["${#}", "bad substitution"],
  ])("%j is a syntax error Flux fails on: %s", (input, error) => {
    expect(substituteVars(input, { X: "x", Y: "y" }).syntaxError).toBe(error);
  });

  test.each([
    ["${var01^^}", { var01: "ab" }],
    ["${#var01}", { var01: "ab" }],
    ["${path_name:11:5}", { path_name: "/home/bozo/ideas" }],
    ["${filename%.*}", { filename: "a.txt" }],
    ["${stringZ//abc/xyz}", { stringZ: "abc" }],
    ["${Y:+alt}", { Y: "y" }],
    ["${Y:?message}", {}],
  ])("%j is reported as unsupported, not evaluated", (input, vars) => {
    const r = substituteVars(`a ${input} b`, vars);
    expect(r).toEqual({ text: "a  b", undefinedVars: [], unsupported: [input] });
  });

  test("referencedVars: every name read, nested ones too, escaped ones not", () => {
    expect(referencedVars("$${A} ${B} ${C:=1} ${D:=${E}} $F")).toEqual(["B", "C", "D", "E"]);
  });

  test("Flux's variable-name rule: ASCII letter or _ first, then letters, digits, _", () => {
    expect(["A", "_a1", "SITE_DOMAIN"].every(isValidVarName)).toBe(true);
    expect(["1A", "a-b", "é", ""].some(isValidVarName)).toBe(false);
  });
});

describe("Flux postBuild on whole objects", () => {
  test("an object labelled or annotated substitute: disabled is left alone", () => {
    for (const field of ["labels", "annotations"]) {
      const o = {
        kind: "ConfigMap",
        metadata: { name: "x", [field]: { "kustomize.toolkit.fluxcd.io/substitute": "disabled" } },
        data: { a: "${NOPE}" },
      };
      expect(substituteResource(o, { A: "1" })).toEqual({ object: o, undefinedVars: [], problems: [] });
    }
  });

  test("an object without a `$` comes out equal to what went in, as a copy, with nothing reported", () => {
    const o = { kind: "ConfigMap", metadata: { name: "x" }, data: { n: "1.0", yes: "yes", list: [1, "2", null] } };
    const out = substituteResource(o, { A: "1" });
    expect(out).toEqual({ object: o, undefinedVars: [], problems: [] });
    expect(out.object).not.toBe(o);
    expect(out.object?.data).not.toBe(o.data);
  });

  test("comments never reach Flux: a variable in a comment is neither substituted nor an error", () => {
    const text = "# uses ${NOPE}\nkind: ConfigMap\ndata:\n  a: ${A}\n---\nkind: Secret\nstringData:\n  b: $${A}\n";
    expect(substituteManifests(text, { A: "1" })).toEqual({
      objects: [
        { kind: "ConfigMap", data: { a: 1 } },
        { kind: "Secret", stringData: { b: "${A}" } },
      ],
      undefinedVars: [],
      problems: [],
    });
  });

  test("a syntax error keeps the object and says Flux would fail; a result that is not YAML drops it", () => {
    const broken = substituteResource({ kind: "ConfigMap", data: { a: "${A-1}" } }, { A: "1" });
    expect(broken.object).toEqual({ kind: "ConfigMap", data: { a: "${A-1}" } });
    expect(broken.problems).toEqual([
      "variable substitution failed: missing closing brace (Flux would fail the whole Kustomization)",
    ]);
    const notYaml = substituteResource({ kind: "ConfigMap", data: { a: "${A}" } }, { A: "[unclosed" });
    expect(notYaml.object).toBeUndefined();
    expect(notYaml.problems[0]).toMatch(/^after substitution the object is not valid YAML/);
  });
});

describe("substitutions kept between runs", () => {
  test("a kept result is read back; another object or other variables substitute again", () => {
    const dir = mkdtempSync(join(tmpdir(), "ktsw-substitutions-"));
    try {
      const o = { kind: "ConfigMap", metadata: { name: "x" }, data: { a: "${A}", b: "${B:=2}" } };
      const fresh = substituteResource(o, { A: "1" });
      expect(keptSubstitution(o, { A: "1" }, dir)).toEqual(fresh);
      const [entry] = readdirSync(dir);
      expect(readdirSync(dir)).toHaveLength(1);
      // What comes back is the kept entry itself: changed behind its back, the change shows.
      const kept = { object: { kind: "ConfigMap", data: { a: "kept" } }, undefinedVars: [], problems: [] };
      writeFileSync(join(dir, entry as string), JSON.stringify(kept));
      expect(keptSubstitution(o, { A: "1" }, dir)).toEqual(kept);
      expect(keptSubstitution(o, { A: "3" }, dir).object?.data).toEqual({ a: 3, b: 2 });
      expect(keptSubstitution({ ...o, data: { a: "${A}" } }, { A: "1" }, dir).object?.data).toEqual({ a: 1 });
      expect(keptSubstitution(o, {}, dir).undefinedVars).toEqual(["A"]);
      expect(readdirSync(dir)).toHaveLength(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("objects without a variable, and results JSON cannot hold, are not kept", () => {
    const dir = mkdtempSync(join(tmpdir(), "ktsw-substitutions-"));
    try {
      expect(keptSubstitution({ kind: "ConfigMap", data: { a: "1" } }, { A: "1" }, dir).object).toEqual({
        kind: "ConfigMap",
        data: { a: "1" },
      });
      expect(keptSubstitution({ kind: "ConfigMap", data: { a: "${A}" } }, { A: ".inf" }, dir).object).toEqual({
        kind: "ConfigMap",
        data: { a: Number.POSITIVE_INFINITY },
      });
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("pins", () => {
  test.each([
    ["1.2.3", true],
    ["v1.21.1", true],
    ["1.x", false],
    [">=1.0.0", false],
    ["*", false],
  ])("chart version %s exact: %s", (v, ok) => expect(isExactVersion(v)).toBe(ok));
  test.each([
    ["nginx:1.27.0", undefined],
    ["ghcr.io/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", undefined],
    ["nginx", "no tag"],
    ["nginx:latest", "moving tag"],
    ["localhost:5000/app", "no tag"],
  ])("image %s", (ref, problem) => {
    const p = imageProblem(ref);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toContain(problem);
  });
});

describe("pins on whole objects", () => {
  test("a kustomize images override to latest is reported at its newTag", async () => {
    const { checkPins } = await import("../../src/validate/pins.ts");
    const object = {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "x" },
      spec: { images: [{ name: "a/b", newTag: "latest" }] },
    };
    const findings = checkPins([{ object, owner: "" }]);
    expect(findings.map((f) => f.path)).toEqual(["spec.images.0.newTag"]);
  });
});

describe("HelmRelease valuesFrom", () => {
  const release = {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: "mesh", namespace: "linkerd" },
    spec: { valuesFrom: [{ kind: "Secret", name: "issuer", valuesKey: "ca.crt" }] },
  };
  test("a Secret nothing creates is a warning; one a Certificate writes is fine", async () => {
    const { checkValuesFrom } = await import("../../src/validate/graph-checks.ts");
    const missing = checkValuesFrom([{ object: release, owner: "" }]);
    expect(missing.map((f) => [f.rule, f.severity])).toEqual([["flux.values-from", "warning"]]);
    const certificate = {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: { name: "issuer", namespace: "linkerd" },
      spec: { secretName: "issuer" },
    };
    expect(
      checkValuesFrom([
        { object: release, owner: "" },
        { object: certificate, owner: "" },
      ]),
    ).toEqual([]);
  });
});
