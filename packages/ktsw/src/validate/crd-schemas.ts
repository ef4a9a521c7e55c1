// JSON schemas from the CustomResourceDefinitions the tree applies (its own or rendered from its
// charts), so their custom resources are checked against the exact CRD the cluster will serve.
// A CRD's structural schema allows unknown fields unless told otherwise; Kubernetes prunes (or, with
// strict field validation, refuses) them, so like the strict catalog they are errors here, except
// under x-kubernetes-preserve-unknown-fields.
import { arr, get, type Obj, str } from "./flux.ts";
import { isCrd } from "./helm/api-versions.ts";

/**
 * `group/version/kind` -> its JSON schema, for every served version with a schema. Each is made
 * when asked for: the charts' CRDs define hundreds of kinds, the tree uses a few of them.
 */
export function crdSchemas(objects: readonly Obj[]): Map<string, () => object> {
  const out = new Map<string, () => object>();
  for (const crd of objects.filter(isCrd)) {
    const group = str(crd, "spec", "group");
    const kind = str(crd, "spec", "names", "kind");
    for (const v of arr(crd, "spec", "versions")) {
      const schema = get(v, "schema", "openAPIV3Schema");
      const version = str(v, "name");
      if (!group || !kind || !version || !schema || typeof schema !== "object") continue;
      out.set(`${group}/${version}/${kind}`, () => strictSchema(schema as Obj, true));
    }
  }
  return out;
}

/** OpenAPI v3 structural schema -> draft-04 JSON schema with unknown fields refused. */
export function strictSchema(schema: Obj, top = false): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "properties" && v && typeof v === "object") {
      out.properties = Object.fromEntries(
        Object.entries(v as Obj).map(([name, s]) => [name, strictSchema((s ?? {}) as Obj)]),
      );
    } else if ((k === "items" || k === "additionalProperties" || k === "not") && v && typeof v === "object") {
      out[k] = strictSchema(v as Obj);
    } else if ((k === "allOf" || k === "anyOf" || k === "oneOf") && Array.isArray(v)) {
      out[k] = v.map((s) => strictSchema((s ?? {}) as Obj));
    } else if (!k.startsWith("x-kubernetes-") && k !== "nullable" && k !== "format") out[k] = v;
  }
  if (schema["x-kubernetes-int-or-string"] === true) delete out.type;
  if (schema.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  if (top) {
    // Every object carries these; CRD schemas often leave them out.
    out.properties = {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      ...((out.properties as Obj) ?? {}),
    };
  }
  const preserves =
    schema["x-kubernetes-preserve-unknown-fields"] === true || schema["x-kubernetes-embedded-resource"] === true;
  if (out.properties && out.additionalProperties === undefined && !preserves) out.additionalProperties = false;
  return out;
}
