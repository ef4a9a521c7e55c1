// Flux's rule for a path without kustomization.yaml: kustomize-controller generates one that lists
// every Kubernetes manifest (a YAML document with apiVersion and kind) under the folder,
// recursively. We do the same in a scratch folder, so such paths build exactly as in the cluster.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

export function hasKustomization(dir: string): boolean {
  return KUSTOMIZATION_FILES.some((f) => existsSync(join(dir, f)));
}

/** Files Flux would include: YAML files holding at least one document with apiVersion and kind. */
export function manifestFiles(dir: string): string[] {
  return (
    readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
      // parentPath arrived in Node 20.12; 20.11 (our engines floor) names it path.
      .map((e) => join(e.parentPath ?? e.path, e.name))
      .filter((file) =>
        parseAllDocuments(readFileSync(file, "utf8")).some((d) => {
          const o = d.toJS() as Record<string, unknown> | null;
          return typeof o?.apiVersion === "string" && typeof o?.kind === "string";
        }),
      )
      .sort()
  );
}

/** A scratch folder whose kustomization.yaml lists the folder's manifests (build it unrestricted). */
export function generateKustomization(dir: string): string {
  const scratch = mkdtempSync(join(tmpdir(), "ktsw-generated-"));
  const resources = manifestFiles(dir).map((f) => relative(scratch, f));
  const body = [
    "apiVersion: kustomize.config.k8s.io/v1beta1",
    "kind: Kustomization",
    "resources:",
    ...resources.map((r) => `  - ${r}`),
  ];
  writeFileSync(
    join(scratch, "kustomization.yaml"),
    `${resources.length ? body.join("\n") : "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []"}\n`,
  );
  return scratch;
}
