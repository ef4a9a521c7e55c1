// `helm template` with the pinned Helm, given what helm-controller would give the install action:
// release name and namespace, the cluster's Kubernetes version and API versions, the CRD policy
// and the composed values. Test hooks are left out (helm-controller runs them only with spec.test).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
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

export async function helmTemplate(helm: string, req: TemplateRequest): Promise<{ objects: Obj[]; error?: string }> {
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
    const objects = parseAllDocuments(stdout)
      .map((d) => d.toJS() as unknown)
      .filter((o): o is Obj => typeof o === "object" && o !== null && !Array.isArray(o));
    return { objects };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
