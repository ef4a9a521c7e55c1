// A CRD's own schema checks its custom resources as strictly as the catalog does: unknown fields are
// errors except where the CRD preserves them; int-or-string and nullable mean what Kubernetes means.
import { describe, expect, test } from "vitest";
import { crdSchemas, strictSchema } from "../../../src/validate/crd-schemas.ts";

const crd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.probe.example.com" },
  spec: {
    group: "probe.example.com",
    names: { kind: "Widget" },
    versions: [
      {
        name: "v1",
        served: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                properties: {
                  size: { "x-kubernetes-int-or-string": true },
                  note: { type: "string", nullable: true },
                  free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                },
              },
            },
          },
        },
      },
    ],
  },
};

describe("CRD schemas", () => {
  test("keyed by group/version/kind, with apiVersion, kind and metadata allowed at the top", () => {
    const schemas = crdSchemas([crd]);
    expect([...schemas.keys()]).toEqual(["probe.example.com/v1/Widget"]);
    const top = schemas.get("probe.example.com/v1/Widget")?.() as { properties: Record<string, unknown> };
    expect(Object.keys(top.properties)).toEqual(["apiVersion", "kind", "metadata", "spec"]);
  });

  test("a kind's schema is made only when asked for", () => {
    const unreadable = {
      get properties(): never {
        throw new Error("read");
      },
    };
    const lazy = { ...crd, spec: { ...crd.spec, versions: [{ name: "v1", schema: { openAPIV3Schema: unreadable } }] } };
    const schemas = crdSchemas([lazy]);
    expect([...schemas.keys()]).toEqual(["probe.example.com/v1/Widget"]);
    expect(() => schemas.get("probe.example.com/v1/Widget")?.()).toThrow("read");
  });

  test("unknown fields refused, preserved ones kept open, int-or-string untyped, nullable adds null", () => {
    const spec = strictSchema(crd.spec.versions[0]?.schema.openAPIV3Schema as Record<string, unknown>) as {
      additionalProperties: boolean;
      properties: { spec: { additionalProperties: boolean; properties: Record<string, Record<string, unknown>> } };
    };
    expect(spec.additionalProperties).toBe(false);
    expect(spec.properties.spec.additionalProperties).toBe(false);
    expect(spec.properties.spec.properties.size).toEqual({});
    expect(spec.properties.spec.properties.note).toEqual({ type: ["string", "null"] });
    expect(spec.properties.spec.properties.free).toEqual({ type: "object" });
  });
});
