// A SOPS file applied by a Kustomization without `decryption` would reach the cluster as
// ciphertext (kustomize-controller only decrypts when asked). Every Kustomization that applies a
// SOPS-encrypted object must name the sops provider and its key Secret.
import { type Finding, finding } from "../diagnostics.ts";
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
    // `decryption` is missing: point at the `spec` key it belongs under.
    const pos = node.source ? position(node.source, ["spec"], true) : {};
    const what = encrypted.map((a) => `${a.object.kind}/${nameOf(a.object)}`).join(", ");
    out.push(
      finding(
        { file: node.source?.file ?? "", ...pos, path: "spec.decryption" },
        `${node.id} applies SOPS-encrypted ${what} but has no decryption (provider: sops, secretRef: sops-age): the cluster would get ciphertext`,
        "secrets.decryption",
      ),
    );
  }
  return out;
}
