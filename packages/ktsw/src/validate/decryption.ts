// A SOPS file applied by a Kustomization without `decryption` would reach the cluster as
// ciphertext (kustomize-controller only decrypts when asked). Every Kustomization that applies a
// SOPS-encrypted object must name the sops provider and its key Secret.
import type { Finding } from "../diagnostics.ts";
import { get, nameOf } from "./flux.ts";
import { position } from "./sources.ts";
import type { KsNode } from "./walk.ts";

export function checkDecryption(nodes: Map<string, KsNode>): Finding[] {
  const out: Finding[] = [];
  for (const node of nodes.values()) {
    const encrypted = node.objects.filter((a) => get(a.object, "sops", "mac") !== undefined);
    if (encrypted.length === 0) continue;
    if (
      get(node.object, "spec", "decryption", "provider") === "sops" &&
      get(node.object, "spec", "decryption", "secretRef", "name")
    )
      continue;
    const pos = node.source ? position(node.source, ["spec"], true) : { line: 0, col: 0 };
    const what = encrypted.map((a) => `${a.object.kind}/${nameOf(a.object)}`).join(", ");
    out.push({
      file: node.source?.file ?? "",
      line: pos.line,
      col: pos.col,
      path: "spec.decryption",
      message: `${node.id} applies SOPS-encrypted ${what} but has no decryption (provider: sops, secretRef: sops-age): the cluster would get ciphertext`,
      severity: "error",
      rule: "secrets.decryption",
    });
  }
  return out;
}
