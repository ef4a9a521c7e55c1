// The homelab as network namespaces, from ktsw.yaml: pure data, no I/O. Every address is the
// site's own (they exist only inside the namespaces the lab creates), except the WAN side, which
// ktsw.yaml does not describe: it uses TEST-NET-1 (192.0.2.0/24, RFC 5737), never routed anywhere.

import { parseCidr, toAddress } from "../../config/ipv4.ts";
import type { KtswConfig } from "../../config/schema.ts";
import type { Zone } from "../../network/firewall-schema.ts";
import { linuxZoneInterfaces } from "../../network/nftables.ts";

export const labPrefix = "ktsw-";
export const vlanZones = ["mgmt", "nodes", "storage", "public"] as const;
export type VlanZone = (typeof vlanZones)[number];

export interface Host {
  ns: string;
  /** What it stands for, in the reports. */
  label: string;
  zone: Zone;
  address: string;
  prefix: number;
  gateway: string;
}

export interface LabNode {
  name: string;
  role: "control-plane" | "worker";
  ns: string;
  nodesAddress: string;
  storageAddress: string;
  prefix: { nodes: number; storage: number };
  gateway: string;
}

export interface Topology {
  switchNs: string;
  routerNs: string;
  /** The router's address facing each zone (what a host in that zone talks to). */
  routerAddresses: Record<Zone, { address: string; prefix: number }>;
  nodes: LabNode[];
  /** One plain host per zone that has hosts: the probe sources and targets of the flow matrix. */
  hosts: Host[];
  vips: string[];
  /** The Kubernetes API's VIP: on the nodes VLAN, held by one control plane at a time (kube-vip, ARP). */
  apiVip: string;
}

const wan = { router: "192.0.2.1", host: "192.0.2.10", prefix: 24 };

/** A free host address near the top of a VLAN: a probe host that is not a node. */
function spareAddress(cidr: string, fromTop: number): string {
  return toAddress(parseCidr(cidr).last - fromTop);
}

export function labTopology(config: KtswConfig): Topology {
  const v = config.network.vlans;
  const prefix = (role: VlanZone) => parseCidr(v[role].cidr).prefix;
  const wg = config.router.wireguard;
  const wgPrefix = parseCidr(wg.cidr).prefix;
  const wgRouter = toAddress(parseCidr(wg.cidr).first + 1);
  const routerAddresses = {
    mgmt: { address: config.router.addresses.mgmt, prefix: prefix("mgmt") },
    nodes: { address: config.router.addresses.nodes, prefix: prefix("nodes") },
    storage: { address: config.router.addresses.storage, prefix: prefix("storage") },
    public: { address: config.router.addresses.public, prefix: prefix("public") },
    wireguard: { address: wgRouter, prefix: wgPrefix },
    wan: { address: wan.router, prefix: wan.prefix },
  } satisfies Topology["routerAddresses"];
  const mgmtHost = config.proxmox.hosts[0]?.address ?? spareAddress(v.mgmt.cidr, 5);
  const client = wg.peers[0]?.address ?? toAddress(parseCidr(wg.cidr).first + 2);
  const hosts: Host[] = [
    {
      ns: `${labPrefix}mgmt`,
      label: "admin workstation",
      zone: "mgmt",
      address: mgmtHost,
      prefix: prefix("mgmt"),
      gateway: config.router.addresses.mgmt,
    },
    {
      ns: `${labPrefix}newvm`,
      label: "a host on the nodes VLAN that is not a BGP peer",
      zone: "nodes",
      address: spareAddress(v.nodes.cidr, 5),
      prefix: prefix("nodes"),
      gateway: config.router.addresses.nodes,
    },
    {
      ns: `${labPrefix}nas`,
      label: "a storage VLAN host",
      zone: "storage",
      address: spareAddress(v.storage.cidr, 5),
      prefix: prefix("storage"),
      gateway: config.router.addresses.storage,
    },
    {
      ns: `${labPrefix}client`,
      label: `WireGuard peer ${wg.peers[0]?.name ?? "client"}`,
      zone: "wireguard",
      address: client,
      prefix: wgPrefix,
      gateway: wgRouter,
    },
    {
      ns: `${labPrefix}wan`,
      label: "a household device on the WAN side",
      zone: "wan",
      address: wan.host,
      prefix: wan.prefix,
      gateway: wan.router,
    },
  ];
  return {
    switchNs: `${labPrefix}switch`,
    routerNs: `${labPrefix}router`,
    routerAddresses,
    nodes: config.nodes.map((n, i) => ({
      name: n.name,
      role: n.role,
      ns: `${labPrefix}n${i}-${n.name}`.slice(0, 40),
      nodesAddress: n.addresses.nodes,
      storageAddress: n.addresses.storage,
      prefix: { nodes: prefix("nodes"), storage: prefix("storage") },
      gateway: config.router.addresses.nodes,
    })),
    hosts,
    vips: [config.kubernetes.ingressVip],
    apiVip: config.kubernetes.apiVip,
  };
}

export const routerInterface = linuxZoneInterfaces;
