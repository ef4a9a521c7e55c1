// What k3s itself runs as pods: its packaged add-ons, minus those ktsw's k3s config disables
// (render/nodes/k3s-config.ts turns off servicelb, traefik and local-storage). Of the rest, CoreDNS
// is counted, with the spec of k3s' manifests/coredns.yaml (one replica; 100m CPU and 70Mi requested,
// 170Mi memory limit; tolerates the control-plane taint; spread one per node). metrics-server is
// not counted: its packaged requests are not pinned here.
import type { KtswConfig } from "../config/schema.ts";
import { k3sConfig } from "../render/nodes/k3s-config.ts";
import type { AppliedObject } from "../validate/walk.ts";

/** The owner of k3s' own pods: before every Flux layer. */
export const K3S_OWNER = "k3s";

const coredns = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "coredns", namespace: "kube-system" },
  spec: {
    selector: { matchLabels: { "k8s-app": "kube-dns" } },
    template: {
      metadata: { labels: { "k8s-app": "kube-dns" } },
      spec: {
        tolerations: [
          { key: "CriticalAddonsOnly", operator: "Exists" },
          { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
          { key: "node-role.kubernetes.io/master", operator: "Exists", effect: "NoSchedule" },
        ],
        nodeSelector: { "kubernetes.io/os": "linux" },
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { "k8s-app": "kube-dns" } },
          },
        ],
        containers: [
          { name: "coredns", resources: { requests: { cpu: "100m", memory: "70Mi" }, limits: { memory: "170Mi" } } },
        ],
      },
    },
  },
};

/** k3s' packaged pods the site keeps, as applied objects of the owner `k3s`. */
export function k3sAddons(c: KtswConfig): AppliedObject[] {
  const first = c.nodes.find((n) => n.role === "control-plane");
  if (!first) return [];
  const disabled = k3sConfig(c, first).disable;
  const off = new Set(Array.isArray(disabled) ? disabled : []);
  return off.has("coredns") ? [] : [{ object: coredns, owner: K3S_OWNER }];
}
