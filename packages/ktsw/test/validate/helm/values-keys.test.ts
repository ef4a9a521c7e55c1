// Which values keys a chart knows, from its defaults, its schema and what its templates read;
// unknown keys with the closest known sibling.
import { describe, expect, test } from "vitest";
import {
  keyTreeFromJson,
  keyTreeToJson,
  treeFromDefaults,
  treeFromSchema,
  treeFromTemplates,
  unknownValuesKeys,
} from "../../../src/validate/helm/values-keys.ts";

describe("values keys a chart knows", () => {
  test("defaults: a non-empty map lists its keys, `{}`, null, scalars and lists are free below", () => {
    const known = treeFromDefaults({ image: { repository: "r", tag: "t" }, podLabels: {}, args: [], extra: null });
    expect(
      unknownValuesKeys(
        { image: { tga: "x" }, imagee: {}, podLabels: { a: "b" }, args: [1], extra: { any: { thing: 1 } } },
        known,
      ),
    ).toEqual([
      { path: ["image", "tga"], closest: "tag" },
      { path: ["imagee"], closest: "image" },
    ]);
  });

  test("templates: `.Values.a.b`, `(.Values).a`, `index`/`hasKey` by name and a dict alias each read their subtree", () => {
    const known = treeFromTemplates([
      "{{ toYaml .Values.resources }} {{ ((.Values).global).image }}",
      '{{ index .Values "my-key" "inner" }} {{ if hasKey .Values "flag" }}{{ end }}',
      '{{ include "probe" (dict "app" .Values.server) }} {{ include "probe" (dict "app" .Values.worker) }}',
      '{{ define "probe" }}{{ toYaml .app.probe }}{{ end }}',
    ]);
    expect(
      unknownValuesKeys(
        {
          resources: { limits: { cpu: 1 } },
          global: { image: { registry: "r" } },
          "my-key": { inner: { x: 1 } },
          flag: true,
          server: { probe: { httpGet: {} }, other: 1 },
          worker: { probe: { exec: {} } },
        },
        known,
      ),
    ).toEqual([{ path: ["server", "other"], closest: "probe" }]);
  });

  test("`.Values` handed around whole reads no key by itself", () => {
    expect(
      unknownValuesKeys({ typo: 1 }, treeFromTemplates(["{{ $v := deepCopy .Values }}{{ with .Values }}{{ end }}"])),
    ).toEqual([{ path: ["typo"] }]);
  });

  test("schema: properties (also through $ref and allOf) list keys; additionalProperties or no properties leave it free", () => {
    const schema = {
      type: "object",
      properties: {
        a: { $ref: "#/definitions/a" },
        labels: { type: "object", additionalProperties: { type: "string" } },
        free: { type: "object" },
      },
      allOf: [{ properties: { b: { type: "integer" } } }],
      definitions: { a: { type: "object", properties: { x: { type: "string" } }, additionalProperties: false } },
    };
    const known = treeFromSchema(schema);
    expect(
      unknownValuesKeys({ a: { x: "1", y: "2" }, b: 1, labels: { k: "v" }, free: { q: 1 }, bb: 1 }, known),
    ).toEqual([
      { path: ["a", "y"], closest: "x" },
      { path: ["bb"], closest: "b" },
    ]);
  });
});

describe("a chart's key tree kept as JSON", () => {
  test("read back, it knows and flags exactly the same keys", () => {
    const known = treeFromDefaults({ image: { repository: "r", tag: "t" }, podLabels: {}, __proto__x: { a: 1 } });
    treeFromSchema({ type: "object", properties: { replicas: { type: "integer" } } }, undefined, known);
    const back = keyTreeFromJson(JSON.parse(JSON.stringify(keyTreeToJson(known))));
    expect(back).toEqual(known);
    const values = { image: { tga: "x" }, podLabels: { a: "b" }, replicas: 2, replica: 1 };
    expect(unknownValuesKeys(values, back)).toEqual(unknownValuesKeys(values, known));
    expect(unknownValuesKeys(values, back).map((u) => u.path.join("."))).toEqual(["image.tga", "replica"]);
  });
});
