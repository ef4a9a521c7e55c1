// What `ktsw bootstrap` puts on a cluster, once, before Flux takes over: the flux-system namespace, the `sops-age`
// Secret holding the site's age key (kustomize-controller decrypts every *.sops.yaml with it), and the root
// GitRepository + Kustomization from the cluster folder's flux-system.yaml. Flux's CRDs come from its release
// (sim/flux-crds.ts). Pure: texts in, objects out.
import { parseAllDocuments } from "yaml";
import { fluxNamespace } from "../sim/flux.ts";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** The key the tree's decryption settings name (`secretRef: sops-age`) and the file name Flux's docs use. */
export const sopsAgeSecret = { name: "sops-age", key: "age.agekey" };

/** An age identity file holds at least one `AGE-SECRET-KEY-…` line; anything else is not a key. */
export function checkAgeKey(text: string, file: string): void {
  if (!/^AGE-SECRET-KEY-1[0-9A-Z]+$/m.test(text)) {
    throw new Error(`${file}: no age secret key (a line starting AGE-SECRET-KEY-1); \`ktsw secrets init\` makes one`);
  }
}

/** The root sources of the cluster: exactly one GitRepository and one Kustomization, as Flux's bootstrap writes. */
export function rootObjects(text: string, file: string): KubeObject[] {
  const docs = parseAllDocuments(text);
  const objects: KubeObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    const o = doc.toJS() as KubeObject | null;
    if (o) objects.push(o);
  }
  for (const kind of ["GitRepository", "Kustomization"]) {
    const found = objects.filter((o) => o.kind === kind);
    if (found.length !== 1) {
      throw new Error(`${file}: expected exactly one ${kind} (the root of the tree), found ${found.length}`);
    }
  }
  const stray = objects.find((o) => o.metadata?.namespace !== fluxNamespace);
  if (stray) {
    throw new Error(`${file}: ${stray.kind} ${stray.metadata?.name} must be in namespace ${fluxNamespace}`);
  }
  return objects;
}

export function bootstrapObjects(ageKey: string, roots: readonly KubeObject[]): KubeObject[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: fluxNamespace } },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: sopsAgeSecret.name, namespace: fluxNamespace },
      type: "Opaque",
      // `data`, not `stringData`: the API server keeps only `data`, so a second apply finds nothing to change.
      data: { [sopsAgeSecret.key]: Buffer.from(ageKey).toString("base64") },
    },
    ...roots,
  ];
}
