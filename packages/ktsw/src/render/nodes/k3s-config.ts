// The k3s configuration (/etc/rancher/k3s/config.yaml) of each node, "hard mode": k3s' own CNI,
// network policy controller, kube-proxy, service load balancer, ingress and storage are all off,
// because Cilium, MetalLB, Traefik and Longhorn come in through GitOps where they are explained
// and versioned. What stays is hardened after the k3s CIS hardening guide.
import type { KtswConfig, KtswNode } from "../../config/schema.ts";
import { kubeApiHost, kubeApiPort } from "../cluster-settings.ts";
import { type TokenFile, tokenFiles, tokenPaths } from "./token.ts";

/** Where the files a server needs land on the node; the API server flags below point at them. */
export const k3sPaths = {
  config: "/etc/rancher/k3s/config.yaml",
  /** The token this node joins with; never in Git (see token.ts). */
  token: tokenPaths.join,
  /** Servers only: the token agents join with. */
  agentToken: tokenPaths.agent,
  auditPolicy: "/var/lib/rancher/k3s/server/audit-policy.yaml",
  admissionConfig: "/var/lib/rancher/k3s/server/admission-config.yaml",
  auditLogDir: "/var/lib/rancher/k3s/server/logs",
} as const;

/** TLS 1.2 suites the CIS benchmark (4.2.12) accepts for the kubelet: AEAD + forward secrecy only. */
const strongCipherSuites = [
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
].join(",");

/** Kubelet flags for every node, server or agent (CIS section 4.2). */
export const kubeletArgs: readonly string[] = [
  // k3s already sets this when a client CA exists; stated so the audit trail is in the file.
  "anonymous-auth=false",
  "streaming-connection-idle-timeout=5m", // CIS 4.2.5: idle exec/port-forward streams close
  `tls-cipher-suites=${strongCipherSuites}`, // CIS 4.2.12
  "pod-max-pids=4096", // CIS 4.2.13: one fork-bombing pod cannot starve the node of PIDs
];

/** API server flags (CIS section 1.2); k3s already sets anonymous-auth=false and profiling=false. */
export const kubeApiserverArgs: readonly string[] = [
  "anonymous-auth=false", // CIS 1.2.1, repeated from k3s' default so it cannot silently change
  // NodeRestriction: a kubelet may only edit its own Node and its pods (CIS 1.2.15). EventRateLimit
  // (CIS 1.2.9) needs its limits from the admission config file below, or the API server won't start.
  // AlwaysPullImages (CIS 1.2.11) stays off: the benchmark itself calls it unsuitable for clusters
  // that must start from cached images, which a homelab after a power cut is.
  "enable-admission-plugins=NodeRestriction,EventRateLimit",
  `admission-control-config-file=${k3sPaths.admissionConfig}`,
  `audit-policy-file=${k3sPaths.auditPolicy}`, // CIS 1.2.16-19: who did what, kept 30 days
  `audit-log-path=${k3sPaths.auditLogDir}/audit.log`,
  "audit-log-maxage=30",
  "audit-log-maxbackup=10",
  "audit-log-maxsize=100",
  "service-account-extend-token-expiration=false", // projected tokens really expire after 1h
];

export const kubeControllerManagerArgs: readonly string[] = [
  "terminated-pod-gc-threshold=100", // CIS 1.3.1: finished pods don't pile up in etcd forever
];

export function controlPlanes(c: KtswConfig): KtswNode[] {
  return c.nodes.filter((n) => n.role === "control-plane");
}

/** The node that bootstraps etcd with `cluster-init` on a new site. */
export function firstControlPlane(c: KtswConfig): KtswNode {
  const first = controlPlanes(c)[0];
  if (!first) throw new Error("ktsw.yaml has no control-plane node (validation should have caught this)");
  return first;
}

/** Whether this server initialises etcd (`cluster-init`) instead of joining.
 *
 * A new site (no `kubernetes.clusterCaHash` yet): the first server initialises etcd and every other
 * node joins. Once the cluster exists (its CA hash is in ktsw.yaml), no server initialises anything:
 * `cluster-init` on a fresh disk would start a second, empty etcd, so a rebuilt first server joins
 * like the others. k3s ignores both settings on a server whose etcd data exists, so the change is
 * inert on running nodes. A single server has no one to join; it keeps `cluster-init` (rebuilding it
 * means restoring an etcd snapshot: see the nodes README). */
export function initialisesEtcd(c: KtswConfig, node: KtswNode): boolean {
  if (node.role !== "control-plane") return false;
  if (controlPlanes(c).length === 1) return true;
  return !c.kubernetes.clusterCaHash && node.name === firstControlPlane(c).name;
}

/** Where every joining node registers: the API VIP (k3s' "fixed registration address"), so no node
 * depends on one server being alive when it joins or rejoins. On a new site the first server's
 * kube-vip takes the VIP as soon as its API server answers; the others retry until then. After
 * joining, agents learn every server and load-balance across them themselves. */
export function joinUrl(c: KtswConfig): string {
  return `https://${kubeApiHost(c)}:${kubeApiPort}`;
}

/** The token files this node holds, in the form its role and join call for. */
export function nodeTokenFiles(c: KtswConfig, node: KtswNode): TokenFile[] {
  return tokenFiles(c, node, !initialisesEtcd(c, node));
}

export function fqdn(c: KtswConfig, node: KtswNode): string {
  return `${node.name}.${c.site.domain}`;
}

/** Names and addresses the API server certificate must be valid for (deduplicated, stable order). */
export function tlsSans(c: KtswConfig, node: KtswNode): string[] {
  const endpoint = c.kubernetes.apiEndpoint ? [c.kubernetes.apiEndpoint] : [];
  return [...new Set([kubeApiHost(c), ...endpoint, `api.${c.site.domain}`, node.addresses.nodes, fqdn(c, node)])];
}

/** Settings both roles share. Addresses come from the nodes VLAN so Kubernetes traffic never
 * wanders onto the storage or management networks. */
function commonConfig(c: KtswConfig, node: KtswNode): Record<string, unknown> {
  return {
    ...(initialisesEtcd(c, node) ? { "cluster-init": true } : { server: joinUrl(c) }),
    "node-name": node.name,
    "node-ip": node.addresses.nodes,
    "token-file": k3sPaths.token,
    "protect-kernel-defaults": true, // kubelet refuses to start if the sysctls in host-os.ts are missing
    "kubelet-arg": [...kubeletArgs],
  };
}

function serverConfig(c: KtswConfig, node: KtswNode): Record<string, unknown> {
  const hasWorkers = c.nodes.some((n) => n.role === "worker");
  return {
    ...commonConfig(c, node),
    // k3s wants the agent token on every server; agents then join with it instead of the server
    // token, which is full admin of the cluster.
    "agent-token-file": k3sPaths.agentToken,
    "advertise-address": node.addresses.nodes,
    "tls-san": tlsSans(c, node),
    "cluster-cidr": c.kubernetes.podCidr,
    "service-cidr": c.kubernetes.serviceCidr,
    "cluster-dns": c.kubernetes.clusterDns,
    "flannel-backend": "none", // Cilium is the CNI
    "disable-network-policy": true, // Cilium enforces NetworkPolicy
    "disable-kube-proxy": true, // Cilium's eBPF kube-proxy replacement serves Services
    disable: ["servicelb", "traefik", "local-storage"], // MetalLB, Traefik and Longhorn via GitOps
    "secrets-encryption": true, // Secrets encrypted at rest in etcd (CIS 1.2.27-28)
    "write-kubeconfig-mode": "0600", // the admin kubeconfig stays root-only
    // Control planes carry etcd and the API server; keep workloads off them, but only when there
    // are workers to run those workloads (a single-node lab must still schedule pods).
    ...(hasWorkers ? { "node-taint": ["node-role.kubernetes.io/control-plane:NoSchedule"] } : {}),
    "kube-apiserver-arg": [...kubeApiserverArgs],
    "kube-controller-manager-arg": [...kubeControllerManagerArgs],
  };
}

/** Agents get only agent flags: cluster-wide settings live on the servers and would be rejected. */
function agentConfig(c: KtswConfig, node: KtswNode): Record<string, unknown> {
  return commonConfig(c, node);
}

export function k3sConfig(c: KtswConfig, node: KtswNode): Record<string, unknown> {
  return node.role === "control-plane" ? serverConfig(c, node) : agentConfig(c, node);
}
