// The API VIP: kube-vip (control-plane mode, ARP) as a static pod on every server. One server at a
// time holds `kubernetes.apiVip` on its nodes-VLAN interface, chosen by a Kubernetes lease; when
// it stops renewing the lease (node, k3s or kube-vip gone), another server takes the address and
// announces it with gratuitous ARP, so the router and every node on VLAN 20 send to the new MAC.
//
// Why ARP and not BGP: every node already holds its one BGP session to the router for MetalLB, and
// the router has one neighbour per peer address, so kube-vip's own BGP speaker could not peer from
// the same address. An ARP VIP also sits on-link for every node, so the joining nodes' traffic to it
// never crosses the router's stateful firewall one way only (a routed /32 would: in through the
// router, out directly), and the API stays reachable while the router's BGP is down.
//
// Why a static pod: the VIP has to exist before the other servers and the agents join through it,
// i.e. before Cilium (the CNI), Flux or any DaemonSet can run. The kubelet of a server starts static
// pods from k3s' manifest folder as soon as k3s starts; hostNetwork needs no CNI. kube-vip talks to
// its own server's API (the admin kubeconfig k3s writes points at 127.0.0.1), never to the VIP.
import type { KtswConfig } from "../../config/schema.ts";
import { kubeApiPort } from "../cluster-settings.ts";

/** Pinned: the image kube-vip's v1.2.3 release publishes (env names read from that tag's source). */
export const kubeVipImage = "ghcr.io/kube-vip/kube-vip:v1.2.3";

/** k3s' kubelet runs every manifest in <data-dir>/agent/pod-manifests as a static pod. */
export const kubeVipManifestPath = "/var/lib/rancher/k3s/agent/pod-manifests/kube-vip.yaml";

/** The admin kubeconfig k3s writes on every server (server: https://127.0.0.1:6443). */
export const k3sAdminKubeconfig = "/etc/rancher/k3s/k3s.yaml";

/** Leader election, seconds: a holder that stops renewing loses the VIP after at most
 * leaseDuration + retryPeriod. Shorter than kube-vip's defaults (15/10/2, its v1.2.3 flags) so a
 * takeover takes seconds; the renew deadline still leaves a holder three retries before it lets go. */
export const kubeVipLease = { durationSeconds: 5, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 } as const;

export function kubeVipPod(c: KtswConfig): Record<string, unknown> {
  const env: Record<string, string> = {
    address: c.kubernetes.apiVip,
    port: String(kubeApiPort),
    vip_arp: "true",
    // vip_interface is left out on purpose: kube-vip then takes the interface of the default route,
    // which is the nodes VLAN's (the storage VLAN has no gateway), whatever the guest names it.
    cp_enable: "true",
    cp_namespace: "kube-system",
    vip_leaderelection: "true",
    vip_leasename: "plndr-cp-lock",
    vip_leaseduration: String(kubeVipLease.durationSeconds),
    vip_renewdeadline: String(kubeVipLease.renewDeadlineSeconds),
    vip_retryperiod: String(kubeVipLease.retryPeriodSeconds),
    // An explicit kubeconfig: kube-vip then uses its server address as written (127.0.0.1).
    k8s_config_file: k3sAdminKubeconfig,
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "kube-vip", namespace: "kube-system" },
    spec: {
      hostNetwork: true,
      priorityClassName: "system-node-critical",
      containers: [
        {
          name: "kube-vip",
          image: kubeVipImage,
          imagePullPolicy: "IfNotPresent",
          args: ["manager"],
          env: [
            ...Object.entries(env).map(([name, value]) => ({ name, value })),
            { name: "vip_nodename", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          ],
          securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] } },
          resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
          volumeMounts: [{ name: "kubeconfig", mountPath: k3sAdminKubeconfig, readOnly: true }],
        },
      ],
      // type File: until k3s has written the kubeconfig the pod waits; an untyped hostPath would
      // make the runtime create a directory there, and k3s could then never write the file.
      volumes: [{ name: "kubeconfig", hostPath: { path: k3sAdminKubeconfig, type: "File" } }],
    },
  };
}
