// A Constraint's schema comes from its template in the tree, and, like the CRD Gatekeeper generates from it (a
// structural schema the API server enforces), it refuses a parameter the template does not declare.
import { describe, expect, test } from "vitest";
import { Ajv } from "../../src/validate/schemas.ts";
import { constraintSchemas } from "../../src/validate/tree-kinds.ts";

const template = {
  object: {
    apiVersion: "templates.gatekeeper.sh/v1",
    kind: "ConstraintTemplate",
    metadata: { name: "k8sexample" },
    spec: {
      crd: {
        spec: {
          names: { kind: "K8sExample" },
          validation: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                registries: { type: "array", items: { type: "string" } },
                limits: { type: "object", properties: { cpu: { type: "string" } } },
                free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      },
    },
  },
  owner: "flux-system/gatekeeper-templates",
};

const constraint = (parameters: object) => ({
  apiVersion: "constraints.gatekeeper.sh/v1beta1",
  kind: "K8sExample",
  metadata: { name: "example" },
  spec: { parameters },
});

describe("a Constraint's schema from its template", () => {
  const schema = constraintSchemas([template]).get("K8sExample");
  const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema ?? {});

  test("declared parameters pass", () => {
    expect(validate(constraint({ registries: ["harbor.example/ktsw/"], limits: { cpu: "1" } }))).toBe(true);
  });

  test("a parameter the template does not declare is refused, at any depth", () => {
    expect(validate(constraint({ registries: [], report: ["refused"] }))).toBe(false);
    expect(validate.errors?.map((e) => [e.instancePath, e.params])).toEqual([
      ["/spec/parameters", { additionalProperty: "report" }],
    ]);
    expect(validate(constraint({ limits: { cpu: "1", memroy: "1Gi" } }))).toBe(false);
  });

  test("under x-kubernetes-preserve-unknown-fields anything goes, as the API server keeps it", () => {
    expect(validate(constraint({ free: { anything: true } }))).toBe(true);
  });
});
