import { describe, expect, test } from "vitest";
import { imageProblem, isExactVersion } from "../../src/validate/pins.ts";
import { referencedVars, substituteVars } from "../../src/validate/substitute.ts";

describe("Flux postBuild substitution semantics", () => {
  const vars = { HOST: "lab.example", EMPTY: "" };
  test("braced variables, defaults, and $$ escapes", () => {
    const r = substituteVars("a: ${HOST}\nb: ${NOPE:=x}\nc: ${EMPTY:-y}\nd: ${EMPTY=z}\ne: $${HOST}\nf: $HOST", vars);
    expect(r.text).toBe("a: lab.example\nb: x\nc: y\nd: \ne: ${HOST}\nf: $HOST");
    expect(r.undefinedVars).toEqual([]);
  });
  test("an undefined variable without default is reported", () => {
    const r = substituteVars("x: ${MISSING}", vars);
    expect(r.undefinedVars).toEqual(["MISSING"]);
  });
  test("escaped variables are not references", () => {
    expect(referencedVars("$${A} ${B} ${C:=1}")).toEqual(["B", "C"]);
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
