// No plaintext Secret in Git: every Secret the tree applies must be a SOPS document (sops metadata
// with a MAC) whose data/stringData values are all ENC[...] ciphertexts.
import type { Finding } from "../diagnostics.ts";
import { hasSopsMetadata, isCiphertext } from "../secrets/check.ts";
import { get, nameOf, type Obj } from "./flux.ts";
import { findingAt, type SourceDoc } from "./sources.ts";
import type { AppliedObject } from "./walk.ts";

export function secretProblems(o: Obj): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  if (!hasSopsMetadata(o))
    out.push({
      path: [],
      message: `Secret ${nameOf(o)} is not SOPS-encrypted (no sops metadata): plaintext secret in Git`,
    });
  for (const field of ["data", "stringData"]) {
    for (const [k, v] of Object.entries((get(o, field) ?? {}) as Obj)) {
      if (!isCiphertext(v))
        out.push({
          path: [field, k],
          message: `Secret ${nameOf(o)}: ${field}.${k} is not encrypted (expected ENC[...])`,
        });
    }
  }
  return out;
}

export function checkSecrets(objects: readonly AppliedObject[], sources: readonly SourceDoc[]): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<SourceDoc | Obj>();
  const check = (o: Obj, src: SourceDoc | undefined) => {
    for (const p of secretProblems(o)) out.push(findingAt(src, p.path, p.message, "secrets.sops"));
  };
  for (const a of objects) {
    if (a.object.kind !== "Secret") continue;
    seen.add(a.source ?? a.object);
    check(a.object, a.source);
  }
  // Secrets no Kustomization applies are still in Git: check them too.
  for (const s of sources)
    if (s.object.kind === "Secret" && s.object.apiVersion === "v1" && !seen.has(s)) check(s.object, s);
  return out;
}
