// One digest of an object's content per process: the schema check and the policy check both key what they keep by
// it, and serialising the whole tree's objects once is already a noticeable part of a warm `validate`.
import { createHash } from "node:crypto";

const digests = new WeakMap<object, string>();

/** SHA-256 of the object's JSON (the same object is serialised once; objects are never changed after they are made). */
export function objectDigest(o: object): string {
  let d = digests.get(o);
  if (d === undefined) {
    d = createHash("sha256").update(JSON.stringify(o)).digest("hex");
    digests.set(o, d);
  }
  return d;
}
