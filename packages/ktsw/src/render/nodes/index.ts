// Renderer: one folder per VM under infrastructure/nodes/ (its cloud-init user-data and, for
// reading and diffing, its k3s config), plus the control-plane policy files rendered once.
import type { KtswConfig } from "../../config/schema.ts";
import { controlPlanePolicyFiles, policyFileContent } from "./control-plane-policies.ts";
import { k3sConfigFile, kubeVipManifestFile, userDataFile } from "./user-data.ts";

export const nodesDir = "infrastructure/nodes";

export function userDataPath(nodeName: string): string {
  return `${nodesDir}/${nodeName}/user-data.yaml`;
}

export function k3sConfigPath(nodeName: string): string {
  return `${nodesDir}/${nodeName}/k3s-config.yaml`;
}

export function renderNodes(c: KtswConfig): Record<string, string> {
  const files: Record<string, string> = {};
  for (const node of c.nodes) {
    files[userDataPath(node.name)] = userDataFile(c, node);
    files[k3sConfigPath(node.name)] = k3sConfigFile(c, node);
  }
  for (const policy of controlPlanePolicyFiles) {
    files[`${nodesDir}/${policy.repoName}`] = policyFileContent(policy);
  }
  // For reading and diffing, like the policy files: the same bytes every server's user-data writes.
  files[`${nodesDir}/kube-vip.yaml`] = kubeVipManifestFile(c);
  return files;
}
