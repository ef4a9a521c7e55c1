// The ConfigMap of site values that Flux substitutes (`${VAR}`) into the GitOps tree through
// `postBuild.substituteFrom`. It is the only bridge between ktsw.yaml and kubernetes/: a manifest
// that needs a site value names a variable from here, never a literal address.
import { stringify } from "yaml";
import type { KtswConfig } from "../config/schema.ts";

export const kubeApiPort = 6443;

/** The API VIP: Cilium's k8sServiceHost. Not k3s' client-side load balancer on 127.0.0.1:6444: k3s
 * runs that on agents only (a server's agent talks to its own API server on 6443), and Cilium takes
 * one address for every node. Not a DNS name either: Cilium starts before the cluster's DNS. */
export function kubeApiHost(c: KtswConfig): string {
  return c.kubernetes.apiVip;
}

export function clusterSettingsData(c: KtswConfig): Record<string, string> {
  const { vlans } = c.network;
  const bfd = c.kubernetes.bfd;
  return {
    SITE_NAME: c.site.name,
    SITE_DOMAIN: c.site.domain,
    TIMEZONE: c.site.timezone,
    KUBE_API_HOST: kubeApiHost(c),
    KUBE_API_PORT: String(kubeApiPort),
    CLUSTER_POD_CIDR: c.kubernetes.podCidr,
    CLUSTER_SERVICE_CIDR: c.kubernetes.serviceCidr,
    CLUSTER_DNS_IP: c.kubernetes.clusterDns,
    CLUSTER_ASN: String(c.kubernetes.clusterAsn),
    ROUTER_ASN: String(c.router.asn),
    ROUTER_NODES_ADDRESS: c.router.addresses.nodes,
    NODES_VLAN_CIDR: vlans.nodes.cidr,
    STORAGE_VLAN_CIDR: vlans.storage.cidr,
    PUBLIC_VLAN_CIDR: vlans.public.cidr,
    LB_POOL: c.kubernetes.loadBalancerPool,
    INGRESS_VIP: c.kubernetes.ingressVip,
    BFD_ENABLED: String(bfd.enabled),
    BFD_RECEIVE_INTERVAL_MS: String(bfd.receiveIntervalMs),
    BFD_TRANSMIT_INTERVAL_MS: String(bfd.transmitIntervalMs),
    BFD_DETECT_MULTIPLIER: String(bfd.detectMultiplier),
  };
}

export function clusterSettingsPath(c: KtswConfig): string {
  return `${c.gitops.path.replace(/^\.\//, "").replace(/\/$/, "")}/cluster-settings.yaml`;
}

export function renderClusterSettings(c: KtswConfig): Record<string, string> {
  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cluster-settings", namespace: "flux-system" },
    data: clusterSettingsData(c),
  };
  const header = [
    "# yaml-language-server: $schema=https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/v1.33.5-standalone-strict/configmap-v1.json",
    "# Rendered by `ktsw render` from ktsw.yaml; do not edit by hand (`ktsw render --check` fails on drift).",
    "",
  ].join("\n");
  return { [clusterSettingsPath(c)]: header + stringify(configMap) };
}
