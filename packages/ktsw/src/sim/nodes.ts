// One kwok Node per VM of ktsw.yaml, so the scheduler places pods exactly as it would on the user's machines: the
// name, the role labels k3s puts on its servers, the taints ktsw renders into each node's k3s config, and the VM's
// CPUs and memory. Pure: config in, Node objects out.
import type { KtswConfig, KtswNode } from "../config/schema.ts";
import { k3sConfig } from "../render/nodes/k3s-config.ts";

/** kwok manages only the Nodes carrying this annotation (its --manage-nodes-with-annotation-selector). */
export const kwokNodeAnnotation = { key: "kwok.x-k8s.io/node", value: "fake" } as const;

/** The kubelet's default max pods; the rendered kubelet args do not change it. */
const podsPerNode = 110;
/** The kubelet's default hard eviction threshold (memory.available<100Mi) is the only memory it keeps back: the
 *  rendered kubelet args set no kube-reserved or system-reserved. */
const evictionHardMiB = 100;

const nodeInfoFilledByKwok = [
  "machineID",
  "systemUUID",
  "bootID",
  "kernelVersion",
  "osImage",
  "containerRuntimeVersion",
  "kubeProxyVersion",
] as const;

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** k3s' `node-taint` entries (`key[=value]:Effect`) as Node taints. */
export function parseTaint(text: string): Taint {
  const match = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text);
  if (!match?.[1] || !match[3]) throw new Error(`node-taint "${text}" is not key[=value]:Effect`);
  return { key: match[1], ...(match[2] !== undefined ? { value: match[2] } : {}), effect: match[3] };
}

/** The labels the node would carry: the kubelet's own, and k3s' role labels on servers (which run embedded etcd,
 *  since ktsw renders `cluster-init`); agents get no role label from k3s. */
function labels(node: KtswNode): Record<string, string> {
  const own = { "kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64" };
  if (node.role !== "control-plane") return own;
  return {
    ...own,
    "node-role.kubernetes.io/control-plane": "true",
    "node-role.kubernetes.io/master": "true",
    "node-role.kubernetes.io/etcd": "true",
  };
}

export function kwokNode(c: KtswConfig, node: KtswNode, kubeletVersion: string): Record<string, unknown> {
  const rendered = k3sConfig(c, node);
  const taints = ((rendered["node-taint"] as string[] | undefined) ?? []).map(parseTaint);
  const capacity = { cpu: String(node.cores), memory: `${node.memory}Mi`, pods: String(podsPerNode) };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: node.name,
      labels: labels(node),
      annotations: { [kwokNodeAnnotation.key]: kwokNodeAnnotation.value },
    },
    spec: { taints },
    // A Node's status is kept on create; kwok's node-initialize stage keeps what is set and adds the conditions.
    status: {
      capacity,
      allocatable: { ...capacity, memory: `${node.memory - evictionHardMiB}Mi` },
      addresses: [
        { type: "InternalIP", address: node.addresses.nodes },
        { type: "Hostname", address: node.name },
      ],
      // Every field is required by the API's schema; kwok's node-initialize fills the empty ones with its version.
      nodeInfo: {
        kubeletVersion,
        operatingSystem: "linux",
        architecture: "amd64",
        ...Object.fromEntries(nodeInfoFilledByKwok.map((field) => [field, ""])),
      },
    },
  };
}

export function kwokNodes(c: KtswConfig, kubeletVersion: string): Record<string, unknown>[] {
  return c.nodes.map((node) => kwokNode(c, node, kubeletVersion));
}
