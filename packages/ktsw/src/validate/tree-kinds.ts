// Kinds the tree defines itself: Gatekeeper generates one CRD per ConstraintTemplate, so a
// Constraint's schema is the template's parameters schema inside Gatekeeper's common Constraint
// shape. A Constraint whose template is not in the tree is an unknown kind.
import { strictSchema } from "./crd-schemas.ts";
import { get, groupOf, type Obj, str } from "./flux.ts";
import type { AppliedObject } from "./walk.ts";

export const CONSTRAINTS_GROUP = "constraints.gatekeeper.sh";

export function constraintSchemas(objects: readonly AppliedObject[]): Map<string, object> {
  const out = new Map<string, object>();
  for (const a of objects) {
    if (a.object.kind !== "ConstraintTemplate" || groupOf(a.object) !== "templates.gatekeeper.sh") continue;
    const kind = str(a.object, "spec", "crd", "spec", "names", "kind");
    if (!kind) continue;
    const parameters = (get(a.object, "spec", "crd", "spec", "validation", "openAPIV3Schema") as Obj | undefined) ?? {
      type: "object",
    };
    out.set(kind, {
      type: "object",
      required: ["apiVersion", "kind", "metadata"],
      properties: {
        apiVersion: { type: "string" },
        kind: { enum: [kind] },
        metadata: { type: "object", required: ["name"] },
        spec: {
          type: "object",
          additionalProperties: false,
          properties: {
            match: { type: "object" },
            enforcementAction: { type: "string" },
            scopedEnforcementActions: { type: "array" },
            // Gatekeeper's generated CRD is structural: the API server refuses (or prunes) a parameter the
            // template does not declare, so one is an error here too.
            parameters: strictSchema(parameters),
          },
        },
      },
    });
  }
  return out;
}
