// Small objects and nodes for the capacity tests: each test builds exactly the cluster it talks about.
import type { CapacityNode } from "../../src/capacity/nodes.ts";
import { GiB } from "../../src/capacity/quantity.ts";
import type { AppliedObject } from "../../src/validate/walk.ts";

export function node(name: string, extra: Partial<CapacityNode> = {}): CapacityNode {
  return {
    name,
    role: "worker",
    labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", ...extra.labels },
    taints: extra.taints ?? [],
    allocatable: extra.allocatable ?? { cpu: 2000, memory: 4 * GiB, pods: 110 },
  };
}

export const controlPlaneTaint = {
  key: "node-role.kubernetes.io/control-plane",
  value: "",
  effect: "NoSchedule",
} as const;

export function controlPlane(name: string): CapacityNode {
  return {
    ...node(name, { taints: [controlPlaneTaint] }),
    role: "control-plane",
    labels: { "kubernetes.io/hostname": name, "node-role.kubernetes.io/control-plane": "true" },
  };
}

export const requests = (cpu: string, memory: string) => ({ requests: { cpu, memory } });

export interface WorkloadShape {
  kind?: string;
  replicas?: number;
  labels?: Record<string, string>;
  containers?: Record<string, unknown>[];
  initContainers?: Record<string, unknown>[];
  /** Merged into the pod spec (nodeSelector, tolerations, affinity, topologySpreadConstraints). */
  pod?: Record<string, unknown>;
  file?: string;
  line?: number;
  owner?: string;
}

/** A workload object as Flux would apply it, from `file:line` (default: apps/<name>.yaml:1). */
export function workload(name: string, shape: WorkloadShape = {}): AppliedObject {
  const kind = shape.kind ?? "Deployment";
  const labels = shape.labels ?? { app: name };
  const template = {
    metadata: { labels },
    spec: {
      containers: shape.containers ?? [{ name: "main", resources: requests("100m", "128Mi") }],
      ...(shape.initContainers ? { initContainers: shape.initContainers } : {}),
      ...shape.pod,
    },
  };
  const object = {
    apiVersion: kind === "DaemonSet" || kind === "Deployment" || kind === "StatefulSet" ? "apps/v1" : "batch/v1",
    kind,
    metadata: { name, namespace: "demo" },
    spec: {
      ...(kind === "DaemonSet" ? {} : { replicas: shape.replicas ?? 1 }),
      selector: { matchLabels: labels },
      template,
    },
  };
  return at(object, shape);
}

/** Any object, as applied from `file:line`. */
export function at(
  object: Record<string, unknown>,
  where: Pick<WorkloadShape, "file" | "line" | "owner"> = {},
): AppliedObject {
  const file = where.file ?? `kubernetes/apps/demo/${String((object.metadata as { name: string }).name)}.yaml`;
  return {
    object,
    owner: where.owner ?? "flux-system/demo",
    source: { file, line: where.line ?? 1, col: 1 } as AppliedObject["source"],
  };
}
