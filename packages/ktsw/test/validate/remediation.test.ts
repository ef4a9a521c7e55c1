import { describe, expect, test } from "vitest";
import { checkRemediation } from "../../src/validate/remediation.ts";

const release = (spec: Record<string, unknown>) => ({
  owner: "",
  object: {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: "r", namespace: "n" },
    spec,
  },
});
const flagged = (spec: Record<string, unknown>) => checkRemediation([release(spec)]).map((f) => f.path);

describe("every HelmRelease retries a failed install and upgrade", () => {
  test("a count, or -1 (for ever), passes for each action", () => {
    expect(flagged({ install: { remediation: { retries: 3 } }, upgrade: { remediation: { retries: -1 } } })).toEqual(
      [],
    );
  });

  test("missing, 0 or not an integer is named at the field, per action", () => {
    expect(flagged({})).toEqual(["spec.install.remediation.retries", "spec.upgrade.remediation.retries"]);
    expect(flagged({ install: { remediation: { retries: 0 } }, upgrade: { remediation: { retries: "3" } } })).toEqual([
      "spec.install.remediation.retries",
      "spec.upgrade.remediation.retries",
    ]);
  });

  test("other kinds named HelmRelease are not Flux's and are left alone", () => {
    const other = { ...release({}), object: { ...release({}).object, apiVersion: "example.com/v1" } };
    expect(checkRemediation([other])).toEqual([]);
  });
});
