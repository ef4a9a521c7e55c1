// `helm template` with the pinned Helm, given what helm-controller would give the install action:
// release name and namespace, the cluster's Kubernetes version and API versions, the CRD policy
// and the composed values. Test hooks are left out (helm-controller runs them only with spec.test).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Document, isMap, isScalar, isSeq, type Node, parseAllDocuments } from "yaml";
import type { Obj } from "../flux.ts";

export interface TemplateRequest {
  release: string;
  namespace: string;
  chartFile: string;
  /** e.g. v1.33.5 */
  kubeVersion: string;
  apiVersions: readonly string[];
  includeCrds: boolean;
  values: Record<string, unknown>;
}

/** The helm arguments for a request (values come from the file named valuesFile). */
export function templateArgs(req: TemplateRequest, valuesFile: string): string[] {
  return [
    "template",
    req.release,
    req.chartFile,
    "--namespace",
    req.namespace,
    "--kube-version",
    req.kubeVersion,
    ...req.apiVersions.flatMap((a) => ["--api-versions", a]),
    ...(req.includeCrds ? ["--include-crds"] : []),
    "--skip-tests",
    "--values",
    valuesFile,
  ];
}

/** A rendered object in which a mapping holds the same key twice, and where (`metadata.labels.app`). */
export interface DuplicateKeys {
  object: Obj;
  paths: string[];
}

/**
 * The paths of the keys a document's mappings hold twice. YAML forbids it; a parser that keeps the
 * last value hides it, but kustomize's (helm-controller's post-render) refuses the whole release.
 */
export function duplicateKeyPaths(doc: Document): string[] {
  const found: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const at = path ? `${path}.${key}` : key;
        if (seen.has(key)) found.push(at);
        seen.add(key);
        walk(pair.value, at);
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) walk(item, `${path}[${i}]`);
    }
  };
  walk(doc.contents as Node | null, "");
  return found;
}

export async function helmTemplate(
  helm: string,
  req: TemplateRequest,
): Promise<{ objects: Obj[]; duplicateKeys?: DuplicateKeys[]; error?: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ktsw-helm-"));
  try {
    const valuesFile = join(dir, "values.json");
    writeFileSync(valuesFile, JSON.stringify(req.values));
    const { stdout, stderr, failed } = await new Promise<{ stdout: string; stderr: string; failed: boolean }>(
      (resolve) => {
        // HELM_* homes in the scratch folder: nothing read from or written to the user's Helm set-up.
        const env = { ...process.env, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir };
        execFile(helm, templateArgs(req, valuesFile), { env, maxBuffer: 256 * 1024 * 1024 }, (err, out, errOut) =>
          resolve({ stdout: out, stderr: errOut, failed: err !== null }),
        );
      },
    );
    if (failed) return { objects: [], error: stderr.trim().replace(/^Error: /, "") || "helm template failed" };
    const objects: Obj[] = [];
    const duplicateKeys: DuplicateKeys[] = [];
    for (const doc of parseAllDocuments(stdout)) {
      const o = doc.toJS() as unknown;
      if (typeof o !== "object" || o === null || Array.isArray(o)) continue;
      objects.push(o as Obj);
      const paths = duplicateKeyPaths(doc);
      if (paths.length > 0) duplicateKeys.push({ object: o as Obj, paths });
    }
    return { objects, duplicateKeys };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
