// Site values for constraints. In the cluster Flux substitutes `${VAR}` from the cluster-settings
// ConfigMap (postBuild.substituteFrom); locally we do the same from the rendered ConfigMap file so
// `ktsw validate` checks images against this site's Harbor.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const CLUSTER_SETTINGS_FILE = "kubernetes/clusters/homelab/cluster-settings.yaml";

/** `data` of the rendered cluster-settings ConfigMap, or undefined when it has not been rendered. */
export function readClusterSettings(root: string): Record<string, string> | undefined {
  const file = join(root, CLUSTER_SETTINGS_FILE);
  if (!existsSync(file)) return undefined;
  const data = (parse(readFileSync(file, "utf8")) as { data?: Record<string, unknown> } | null)?.data ?? {};
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, String(v)]));
}
