// The plaintext of a SOPS-encrypted Secret a HelmRelease reads its values from, as the cluster
// would have it after kustomize-controller decrypted it. The real sops decrypts the Secret's file
// (once per file and run; nothing is written to disk), finding the age key the way `ktsw secrets`
// does: SOPS_AGE_KEY_FILE, else sops's default key file.
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { sopsDecrypt } from "../../secrets/sops.ts";
import { nameOf, type Obj } from "../flux.ts";
import type { AppliedObject } from "../walk.ts";

export type Decrypted = { object: Obj } | { error: string };

/** A decrypter bound to the repository root; it remembers each file it decrypted. */
export function secretDecrypter(root: string): (secret: AppliedObject) => Promise<Decrypted> {
  const files = new Map<string, Promise<{ docs: Obj[] } | { error: string }>>();
  const decryptFile = async (file: string) => {
    const res = await sopsDecrypt(root, join(root, file));
    if (res.code !== 0) return { error: res.stderr.trim().split("\n")[0] || `sops exited ${res.code}` };
    return { docs: parseAllDocuments(res.stdout).map((d) => d.toJS() as Obj) };
  };
  return async (secret) => {
    const file = secret.source?.file;
    if (!file) return { error: "its source file is unknown" };
    let pending = files.get(file);
    if (!pending) {
      pending = decryptFile(file);
      files.set(file, pending);
    }
    const out = await pending;
    if ("error" in out) return out;
    const object = out.docs.find((d) => d?.kind === "Secret" && nameOf(d) === nameOf(secret.object));
    return object ? { object } : { error: `no Secret ${nameOf(secret.object)} in ${file} once decrypted` };
  };
}
