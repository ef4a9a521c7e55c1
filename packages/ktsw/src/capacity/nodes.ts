// The k3s nodes of ktsw.yaml as the scheduler sees them: labels k3s puts on them, the taints ktsw
// renders into their k3s config (render/nodes/k3s-config.ts, the one source of both), and what
// they can hold. Allocatable = capacity − kube-reserved − system-reserved − the hard eviction
// threshold for memory; ktsw renders no reserve, and k3s sets its own `eviction-hard` with only
// imagefs/nodefs signals (pkg/daemons/agent), so memory.available has no threshold: allocatable is
// the VM's cores and memory. (The kernel keeps a little of the VM's memory for itself, so the real
// node reports slightly less: the headroom column is where that has to fit.)
import type { KtswConfig } from "../config/schema.ts";
import { k3sConfig } from "../render/nodes/k3s-config.ts";
import type { AppliedObject } from "../validate/walk.ts";
import { k3sAddons } from "./k3s-addons.ts";
import { MiB } from "./quantity.ts";
import type { Amounts } from "./resources.ts";

/** The kubelet's default `maxPods`; ktsw does not change it. */
export const DEFAULT_MAX_PODS = 110;

export interface Taint {
  key: string;
  value: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface CapacityNode {
  name: string;
  role: string;
  labels: Record<string, string>;
  taints: Taint[];
  allocatable: Amounts & { pods: number };
}

/** `key[=value]:Effect`, the form of k3s' `node-taint`. */
export function parseTaint(text: string): Taint {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text);
  if (!m) throw new Error(`node taint ${JSON.stringify(text)} is not key[=value]:Effect`);
  return { key: m[1] ?? "", value: m[2] ?? "", effect: m[3] as Taint["effect"] };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []);

export function capacityNodes(c: KtswConfig): CapacityNode[] {
  return c.nodes.map((n) => {
    const k3s = k3sConfig(c, n);
    // Labels the kubelet and k3s set at registration (k3s: server role labels on every server,
    // etcd on embedded-etcd servers, which ktsw's always are), then any `node-label` ktsw renders.
    const labels: Record<string, string> = {
      "kubernetes.io/hostname": n.name,
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "node.kubernetes.io/instance-type": "k3s",
      ...(n.role === "control-plane"
        ? {
            "node-role.kubernetes.io/control-plane": "true",
            "node-role.kubernetes.io/master": "true",
            "node-role.kubernetes.io/etcd": "true",
          }
        : {}),
    };
    for (const l of strings(k3s["node-label"])) {
      const [key, value = ""] = l.split("=");
      if (key) labels[key] = value;
    }
    return {
      name: n.name,
      role: n.role,
      labels,
      taints: strings(k3s["node-taint"]).map(parseTaint),
      allocatable: { cpu: n.cores * 1000, memory: n.memory * MiB, pods: DEFAULT_MAX_PODS },
    };
  });
}

/** The site as the capacity plan needs it: its nodes, and the pods k3s runs before Flux applies anything. */
export interface CapacitySite {
  nodes: CapacityNode[];
  packaged: AppliedObject[];
}

export function capacitySite(c: KtswConfig): CapacitySite {
  return { nodes: capacityNodes(c), packaged: k3sAddons(c) };
}
