// Every applied object against its JSON schema (built-in kinds strict; CRDs from the catalog).
import { createHash } from "node:crypto";
import type { Finding } from "../diagnostics.ts";
import { ALLOWED_WITHOUT_SCHEMA } from "./allowed-kinds.ts";
import { groupOf, nameOf, type Obj, str } from "./flux.ts";
import { objectDigest } from "./object-digest.ts";
import { findingFor } from "./rendered.ts";
import { describeErrors, type SchemaStore } from "./schemas.ts";
import type { AppliedObject } from "./walk.ts";

/** At most this many schema problems per object: the first ones are the ones to fix. */
const MAX_PER_OBJECT = 5;

/**
 * Objects already found valid, by a digest of the validator's key and the object's JSON: a warm run loads no
 * validator for them (loading the built-in kinds' megabytes of generated code was most of this check's time).
 * Only valid objects are kept; an invalid one is checked again every time, so its findings are always fresh.
 */
export interface KnownValid {
  has(digest: string): boolean;
  add(digest: string): void;
}

export const validDigest = (validatorKey: string, object: object): string =>
  createHash("sha256").update(validatorKey).update("\0").update(objectDigest(object)).digest("hex");

export async function checkSchemas(
  objects: readonly AppliedObject[],
  store: SchemaStore,
  known?: KnownValid,
): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const a of objects) {
    const o = a.object;
    const apiVersion = str(o, "apiVersion");
    const kind = str(o, "kind");
    const report = (path: (string | number)[], message: string, atKey = false) =>
      out.push(findingFor(a, path, message, "schema", { pointAtKey: atKey }));
    if (!apiVersion || !kind) {
      report([], "object without apiVersion or kind");
      continue;
    }
    const found = await store.lookup(apiVersion, kind);
    if (!found.found) {
      if (ALLOWED_WITHOUT_SCHEMA.some((g) => g.group === groupOf(o))) continue;
      report(
        ["kind"],
        `unknown kind ${kind} (${apiVersion}): no schema (looked for ${found.tried.join(", ")}); fix the apiVersion/kind or add the group to the allow-list with a reason`,
      );
      continue;
    }
    // SOPS metadata is removed by kustomize-controller before apply; the API server never sees it.
    const { sops: _sops, ...applied } = o as Obj & { sops?: unknown };
    const digest = known ? validDigest(found.key, o) : "";
    if (known?.has(digest)) continue;
    if (found.validate(applied)) {
      known?.add(digest);
      continue;
    }
    for (const p of describeErrors(found.validate.errors).slice(0, MAX_PER_OBJECT)) {
      report(p.path, `${kind}/${nameOf(o)}: ${p.path.length ? `${p.path.join(".")}: ` : ""}${p.message}`, p.atKey);
    }
  }
  return out;
}
