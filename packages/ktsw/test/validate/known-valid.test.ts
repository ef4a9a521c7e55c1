// Objects already found valid are remembered by a digest of the validator's key and the object, so a warm
// `validate` loads no validator for them. Only valid objects are remembered: an invalid one is checked every time.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, expect, test } from "vitest";
import { keptDigestSet } from "../../src/validate/disk-cache.ts";
import { defaultSchemaSources } from "../../src/validate/index.ts";
import { checkSchemas, validDigest } from "../../src/validate/schema-check.ts";
import { SchemaStore } from "../../src/validate/schemas.ts";
import type { AppliedObject } from "../../src/validate/walk.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const dir = mkdtempSync(join(tmpdir(), "ktsw-known-valid-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const widgetSchema = {
  type: "object",
  properties: { spec: { type: "object", properties: { size: { type: "integer" } }, additionalProperties: false } },
};
const store = () =>
  new SchemaStore(
    { ...defaultSchemaSources(repo, undefined, undefined, "v1.33.5+k3s1"), validatorCacheDir: undefined },
    new Map([["example.com/v1/Widget", () => widgetSchema]]),
  );
const widget = (name: string, spec: Record<string, unknown>): AppliedObject => ({
  object: { apiVersion: "example.com/v1", kind: "Widget", metadata: { name }, spec },
  owner: "flux-system/apps",
});

test("valid objects are kept, invalid ones never; a kept object is not validated again, a changed one is", async () => {
  const file = join(dir, "valid.json");
  const first = keptDigestSet(file);
  const good = widget("good", { size: 3 });
  const bad = widget("bad", { size: "three" });
  expect(await checkSchemas([good, bad], store(), first)).toHaveLength(1);
  first.save();

  const lookup = await store().lookup("example.com/v1", "Widget");
  if (!lookup.found) throw new Error("no Widget schema");
  const second = keptDigestSet(file);
  expect(second.has(validDigest(lookup.key, good.object))).toBe(true);
  expect(second.has(validDigest(lookup.key, bad.object))).toBe(false);

  // Kept means trusted: a digest the set holds is not validated at all (here, one put there by hand for a bad object).
  const trusting = { has: (d: string) => d === validDigest(lookup.key, bad.object), add: () => {} };
  expect(await checkSchemas([bad], store(), trusting)).toEqual([]);
  // The same object changed is another digest: checked, and its problem found.
  const changed = widget("good", { size: 3, colour: "red" });
  const found = await checkSchemas([changed], store(), keptDigestSet(file));
  expect(found.map((f) => f.message)).toEqual(['Widget/good: spec.colour: unknown field "colour"']);
});
