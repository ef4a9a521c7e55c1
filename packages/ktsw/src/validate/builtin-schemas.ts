// JSON schemas of Kubernetes' built-in kinds (Deployment, Namespace, ConfigMap...), strict flavour
// (unknown fields are errors), in the kubeconform/yannh layout `<kind>-<group>-<version>.json` with
// shared definitions in `_definitions.json`.
//
// Where they come from: PyPI's `kubernetes-validate` package ships exactly these files for every
// Kubernetes minor version as package data. ktsw fetches that wheel once with pip (an ordinary
// registry client, no URL download) and keeps only the folder for the cluster's minor version in
// .cache/ktsw/, so later runs are offline. `--k8s-schemas <dir>` points at an existing copy instead.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const KUBERNETES_VALIDATE_VERSION = "1.37.0";

/** `v1.33.5+k3s1` -> `v1.33.0-local-strict` (schemas exist per minor version). */
export function schemaFolderFor(k8sVersion: string): string {
  const m = /^v?(\d+)\.(\d+)/.exec(k8sVersion);
  if (!m) throw new Error(`cannot read a Kubernetes version from "${k8sVersion}"`);
  return `v${m[1]}.${m[2]}.0-local-strict`;
}

export function defaultBuiltinSchemaDir(root: string, k8sVersion: string): string {
  return join(root, ".cache", "ktsw", "kubernetes-json-schema", schemaFolderFor(k8sVersion));
}

const EXTRACT = `
import sys, zipfile, glob
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
prefix = "kubernetes_validate/kubernetes-json-schema/" + sys.argv[2] + "/"
out = sys.argv[3]
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            with open(out + "/" + name[len(prefix):], "wb") as f:
                f.write(z.read(name))
            n += 1
if n == 0:
    sys.exit("no schemas for " + sys.argv[2] + " in " + wheel)
`;

/** Makes sure `dir` holds the schemas; downloads them with pip when it does not. */
export function ensureBuiltinSchemas(dir: string, k8sVersion: string): void {
  if (existsSync(join(dir, "_definitions.json"))) return;
  const python = ["python3", "python"].find((p) => {
    try {
      execFileSync(p, ["-m", "pip", "--version"], { stdio: "pipe" });
      return true;
    } catch {
      return false;
    }
  });
  if (!python) {
    throw new Error(
      `Kubernetes JSON schemas missing in ${dir} and no python3 with pip to fetch them (pip download kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}); pass --k8s-schemas <dir>`,
    );
  }
  const tmp = mkdtempSync(join(tmpdir(), "ktsw-k8s-schemas-"));
  try {
    execFileSync(
      python,
      [
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        tmp,
        `kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}`,
      ],
      { stdio: "pipe" },
    );
    mkdirSync(dir, { recursive: true });
    execFileSync(python, ["-c", EXTRACT, tmp, schemaFolderFor(k8sVersion), dir], { stdio: "pipe" });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const detail =
      err instanceof Error && "stderr" in err ? String((err as { stderr: unknown }).stderr).trim() : String(err);
    throw new Error(`could not fetch Kubernetes JSON schemas with pip: ${detail}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The built-in APIs a cluster of this version serves by default (GA versions), as
 * `group/version/Kind`, from the schemas' definitions: Helm's own list has only `group/version`,
 * but a cluster's discovery (what helm-controller sees) has both forms, and charts test for either.
 */
export function builtinApiVersions(builtinDir: string): string[] {
  const file = join(builtinDir, "_definitions.json");
  if (!existsSync(file)) return [];
  const defs = (JSON.parse(readFileSync(file, "utf8")) as { $defs?: Record<string, unknown> }).$defs ?? {};
  const out = new Set<string>();
  for (const def of Object.values(defs)) {
    const gvks = (def as { "x-kubernetes-group-version-kind"?: { group: string; version: string; kind: string }[] })[
      "x-kubernetes-group-version-kind"
    ];
    for (const { group, version, kind } of gvks ?? []) {
      if (!/^v\d+$/.test(version) || kind.endsWith("List") || kind === "WatchEvent" || kind === "DeleteOptions")
        continue;
      const gv = group ? `${group}/${version}` : version;
      out.add(gv);
      out.add(`${gv}/${kind}`);
    }
  }
  return [...out].sort();
}
