// The router's side of MetalLB BGP as one plan, rendered twice: as the FRR configuration the
// OPNsense os-frr plugin generates (the lab runs exactly this text) and as the plugin's API
// payloads. Keeping one plan is what makes "the lab proves the router config" true.
import type { KtswConfig } from "../config/schema.ts";
import { poolToCidrs } from "./pool-prefixes.ts";

export interface BgpNeighbor {
  name: string;
  address: string;
}

export interface RouterBgpPlan {
  hostname: string;
  asn: number;
  routerId: string;
  peerGroup: { name: string; remoteAsn: number };
  neighbors: BgpNeighbor[];
  /** ECMP: one path per node, so every speaker announcing a VIP carries traffic. */
  maximumPaths: number;
  /** Retry a dropped session every few seconds instead of FRR's 120 s, so a node back from a
   *  failure carries traffic again quickly. */
  connectRetrySeconds: number;
  /** Explicit BGP timers (keepalive, hold); undefined keeps FRR's defaults and lets BFD detect. */
  timers?: { keepalive: number; hold: number };
  bfd?: { receiveIntervalMs: number; transmitIntervalMs: number; detectMultiplier: number };
  /** Import: only prefixes inside the VIP pool, /32s included. */
  importPrefixes: string[];
  importPrefixList: string;
  importRouteMap: string;
  /** Export: nothing; the nodes have a default route and need no BGP routes from us. */
  exportRouteMap: string;
}

export interface RouterBgpOptions {
  timers?: { keepalive: number; hold: number };
}

export function routerBgpPlan(config: KtswConfig, options: RouterBgpOptions = {}): RouterBgpPlan {
  const bfd = config.kubernetes.bfd;
  return {
    hostname: config.router.hostname,
    asn: config.router.asn,
    routerId: config.router.addresses.nodes,
    peerGroup: { name: "k8s-nodes", remoteAsn: config.kubernetes.clusterAsn },
    neighbors: config.nodes.map((n) => ({ name: n.name, address: n.addresses.nodes })),
    maximumPaths: Math.max(config.nodes.length, 2),
    connectRetrySeconds: 5,
    ...(options.timers ? { timers: options.timers } : {}),
    ...(bfd.enabled
      ? {
          bfd: {
            receiveIntervalMs: bfd.receiveIntervalMs,
            transmitIntervalMs: bfd.transmitIntervalMs,
            detectMultiplier: bfd.detectMultiplier,
          },
        }
      : {}),
    importPrefixes: poolToCidrs(config.kubernetes.loadBalancerPool).map((cidr) => `${cidr} le 32`),
    importPrefixList: "ktsw-vip-pool",
    importRouteMap: "ktsw-from-nodes",
    exportRouteMap: "ktsw-to-nodes",
  };
}

/** The FRR configuration, line for line in the shape os-frr's templates produce from the plan. */
export function renderRouterFrr(plan: RouterBgpPlan): string {
  const lines: string[] = [
    "! Rendered by `ktsw render` from ktsw.yaml; do not edit by hand.",
    "! The FRR configuration OPNsense's os-frr plugin generates from opnsense-api.json.",
    "frr defaults traditional",
    `hostname ${plan.hostname}`,
    "!",
  ];
  if (plan.bfd) {
    lines.push("bfd");
    for (const n of plan.neighbors) {
      lines.push(
        ` peer ${n.address}`,
        `  detect-multiplier ${plan.bfd.detectMultiplier}`,
        `  receive-interval ${plan.bfd.receiveIntervalMs}`,
        `  transmit-interval ${plan.bfd.transmitIntervalMs}`,
        " exit",
      );
    }
    lines.push("exit", "!");
  }
  const pg = plan.peerGroup.name;
  lines.push(
    `router bgp ${plan.asn}`,
    " bgp log-neighbor-changes",
    " no bgp default ipv4-unicast",
    // Explicit filters below replace RFC 8212's implicit "deny all without policy".
    " no bgp ebgp-requires-policy",
    ` bgp router-id ${plan.routerId}`,
    ` neighbor ${pg} peer-group`,
    ` neighbor ${pg} remote-as ${plan.peerGroup.remoteAsn}`,
  );
  for (const n of plan.neighbors) {
    lines.push(` neighbor ${n.address} remote-as ${plan.peerGroup.remoteAsn}`);
    lines.push(` neighbor ${n.address} description ${n.name}`);
    if (plan.bfd) lines.push(` neighbor ${n.address} bfd`);
    if (plan.timers) lines.push(` neighbor ${n.address} timers ${plan.timers.keepalive} ${plan.timers.hold}`);
    lines.push(` neighbor ${n.address} timers connect ${plan.connectRetrySeconds}`);
    lines.push(` neighbor ${n.address} peer-group ${pg}`);
  }
  lines.push(" !", " address-family ipv4 unicast", `  maximum-paths ${plan.maximumPaths}`, `  neighbor ${pg} activate`);
  for (const n of plan.neighbors) {
    lines.push(
      `  neighbor ${n.address} activate`,
      `  neighbor ${n.address} route-map ${plan.importRouteMap} in`,
      `  neighbor ${n.address} route-map ${plan.exportRouteMap} out`,
    );
  }
  lines.push(" exit-address-family", "exit", "!");
  plan.importPrefixes.forEach((p, i) => {
    lines.push(`ip prefix-list ${plan.importPrefixList} seq ${(i + 1) * 10} permit ${p}`);
  });
  lines.push(
    "!",
    `route-map ${plan.importRouteMap} permit 10`,
    ` match ip address prefix-list ${plan.importPrefixList}`,
    "exit",
    "!",
    `route-map ${plan.exportRouteMap} deny 10`,
    "exit",
    "!",
  );
  return `${lines.join("\n")}\n`;
}
