// infrastructure/router/README.md: the whole router plan for a human, from the same data as the
// machine forms next to it. Every value comes from ktsw.yaml; the prose explains the why.
import type { KtswConfig } from "../../config/schema.ts";
import { vlanRoles } from "../../config/schema.ts";
import { destinationLabel, expandPolicy, routedZones } from "../../network/policy.ts";
import type { RouterBgpPlan } from "../../network/router-bgp.ts";
import type { OpnsenseApiPayload } from "./opnsense-api.ts";
import { internalAlias, internalNetworks } from "./opnsense-filter.ts";
import { routerApplySection } from "./readme-apply.ts";
import { wanClientsSection } from "./readme-wan.ts";

const vlanPurpose: Record<(typeof vlanRoles)[number], string> = {
  mgmt: "hypervisors, router UI, admin workstation",
  nodes: "Kubernetes node traffic and BGP to the router",
  storage: "Longhorn replication; isolated, never routed",
  public: "service VIPs announced by MetalLB (routed to the nodes, no hosts on it)",
};

const dhcpPlan: Record<(typeof vlanRoles)[number], string> = {
  mgmt: "DHCP for workstations (upper half of the /24); hypervisors static",
  nodes: "static (cloud-init); no DHCP, so a stray VM cannot take a node's address",
  storage: "static (cloud-init); no DHCP",
  public: "none: MetalLB owns the pool, announced by BGP",
};

export function renderRouterReadme(config: KtswConfig, plan: RouterBgpPlan, api: OpnsenseApiPayload): string {
  const v = config.network.vlans;
  const domain = config.router.dns.localZone ?? config.site.domain;
  const rules = expandPolicy(config);
  const out: string[] = [
    `# Router \`${config.router.hostname}\` (${config.router.kind === "opnsense" ? "OPNsense" : "pfSense"})`,
    "",
    "Rendered by `ktsw render` from `ktsw.yaml`; do not edit by hand (`ktsw render --check` fails on drift).",
    "Files here:",
    "",
    "| file | what | used by |",
    "| --- | --- | --- |",
    "| `README.md` | this plan, for humans | you |",
    "| `opnsense-api.json` | the same plan as ordered OPNsense REST API calls | applying it to the router |",
    "| `frr.conf` | the FRR configuration os-frr generates from those calls | the lab runs it unchanged |",
    "| `nftables.conf` | the firewall policy as an nftables ruleset (the Linux form of the rules) | the lab loads it unchanged |",
    "",
    "`npm test` proves `frr.conf` and `nftables.conf` in a network-namespace lab with real FRR and nftables",
    "against MetalLB-style speakers generated from `kubernetes/networking/metallb/config` (see `packages/ktsw/src/lab/README.md`).",
    "",
    "## VLANs and addressing",
    "",
    "| VLAN | id | network | router | addresses | purpose |",
    "| --- | --- | --- | --- | --- | --- |",
    ...vlanRoles.map(
      (r) =>
        `| ${r} | ${v[r].id} | ${v[r].cidr} | ${config.router.addresses[r]} | ${dhcpPlan[r]} | ${vlanPurpose[r]} |`,
    ),
    "",
    "| node | nodes VLAN | storage VLAN |",
    "| --- | --- | --- |",
    ...config.nodes.map((n) => `| ${n.name} | ${n.addresses.nodes} | ${n.addresses.storage} |`),
    "",
    `The VLANs are tagged on one trunk (\`${api.trunk}\` in the API calls: change it to your NIC). After the VLAN calls, assign`,
    "them in Interfaces → Assignments in the order mgmt, nodes, storage, public, which makes them",
    `${vlanRoles.map((r) => `\`${api.interfaces[r]}\``).join(", ")} on a router with no other optional interface, and give each its router address above.`,
    "(26.7's assignment API, `/api/interfaces/assignment/add_item`, takes only the device and a description, not the",
    "addresses, so the payload leaves this step to you.)",
    "",
    "## BGP with MetalLB",
    "",
    `- Router AS ${plan.asn}, router-id ${plan.routerId}; the cluster is AS ${plan.peerGroup.remoteAsn} (eBGP).`,
    `- Peer group \`${plan.peerGroup.name}\`, one neighbor per node (${plan.neighbors.map((n) => `${n.name} ${n.address}`).join(", ")}).`,
    `- \`maximum-paths ${plan.maximumPaths}\`: a VIP announced by every node gets one next hop per node (ECMP). The nodes`,
    "  announce with `network` statements, so every path has origin IGP; paths that differ in origin are not equal and",
    "  FRR would silently keep only one.",
    `- Import: route-map \`${plan.importRouteMap}\` accepts only prefix-list \`${plan.importPrefixList}\`, the VIP pool`,
    `  ${config.kubernetes.loadBalancerPool} as prefixes: ${plan.importPrefixes.map((p) => `\`${p}\``).join(", ")}.`,
    `  Export: route-map \`${plan.exportRouteMap}\` denies everything (the nodes route via their default gateway).`,
    "  With explicit filters on both directions, `no bgp ebgp-requires-policy` (RFC 8212's safety net) is safe to set.",
    plan.bfd
      ? `- BFD on every neighbor: ${plan.bfd.transmitIntervalMs} ms × ${plan.bfd.detectMultiplier} (detect time ${plan.bfd.transmitIntervalMs * plan.bfd.detectMultiplier} ms). A dead node's VIP path is withdrawn in under a second instead of after the BGP hold time.`
      : "- BFD is off: a dead node is noticed only after the BGP hold time.",
    `- \`timers connect ${plan.connectRetrySeconds}\`: a node back from a failure is re-peered within seconds, not FRR's default 120 s.`,
    plan.timers
      ? `- BGP timers ${plan.timers.keepalive}/${plan.timers.hold} s.`
      : "- BGP keepalive/hold: the speakers' `holdTime`/`keepaliveTime` (BGPPeer) win, as BGP negotiates the lower hold time.",
    "- os-frr has no BFD *profiles*: it writes the timers per `bfd peer`, which is what `frr.conf` does; MetalLB's side uses",
    "  the BFDProfile CR. Both sides carry the same numbers from `kubernetes.bfd`.",
    "",
    "## DNS (Unbound)",
    "",
    `- Host override \`*.${domain}\` → ${config.kubernetes.ingressVip} (the ingress VIP): every service name resolves to Traefik.`,
    `- Host override \`*.api.${domain}\` → ${config.kubernetes.apiVip}: \`api.${domain}\` (in every server certificate) is the`,
    "  Kubernetes API VIP. A wildcard of its own zone, because OPNsense writes the `*` override as an Unbound `redirect`",
    "  zone, which answers every name inside it with the ingress VIP; the more specific zone wins. The router has no other part in the API VIP: kube-vip",
    "  holds it on one control plane and announces it by ARP on the nodes VLAN (`infrastructure/nodes/README.md`); the",
    "  firewall treats it as the nodes zone (mgmt reaches its :6443, WireGuard and WAN clients do not).",
    `- Upstreams: ${config.router.dns.upstreams.join(", ")}.`,
    "",
  ];
  if (config.router.wireguard.enabled) {
    out.push(
      "## WireGuard",
      "",
      `Listens on udp/${config.router.wireguard.port}, tunnel ${config.router.wireguard.cidr}. The private key is generated on the router and never enters git.`,
      `The firewall rules of the wireguard zone are on the interface \`${api.interfaces.wireguard}\` ("WireGuard (Group)" in the GUI): while`,
      "WireGuard is enabled, OPNsense registers that interface group and puts every instance's `wgN` device in it, so the",
      "tunnel needs no entry in Interfaces → Assignments. (Assigning the instance an `optN` interface is only needed for",
      "per-instance rules or a gateway; rules on an assigned interface are evaluated after the group's.)",
      "",
      "| peer | tunnel address | public key |",
      "| --- | --- | --- |",
      ...config.router.wireguard.peers.map((p) => `| ${p.name} | ${p.address} | \`${p.publicKey}\` |`),
      "",
    );
  }
  out.push(
    "## Firewall",
    "",
    `Zones: ${routedZones(config).join(", ")}; isolated (never routed, no rule may name it): ${config.router.firewall.isolated.join(", ") || "none"}.`,
    'A "client" is whatever consumes the homelab without being part of it: the household network on the WAN side and',
    "road-warrior devices on WireGuard. Everything below passes; everything else is denied (OPNsense's implicit block; the",
    "nftables form rejects inside the homelab so your devices get an immediate refusal, and drops on the WAN).",
    "",
    "| from | to | protocol | ports | why |",
    "| --- | --- | --- | --- | --- |",
    ...rules.map(
      (r) =>
        `| ${r.from.join(", ")} | ${destinationLabel(r.to)} | ${r.proto} | ${r.ports?.join(", ") ?? "all"} | ${r.why} |`,
    ),
    "",
    `On OPNsense a "→ wan" row is a pass rule whose destination is *not* the alias \`${internalAlias}\` (${internalNetworks(config).join(", ")}):`,
    'pf has no "leaves through the WAN" match on an inbound rule, and destination `any` would also reach the mgmt VLAN,',
    "the router and the WireGuard clients (every pod, masqueraded to its node's address, would get that reach). A block",
    "to the router itself (`(self)`, its WAN address included) follows the specific allows of that zone and precedes it.",
    "",
    ...wanClientsSection(config),
    "## Applying it to OPNsense",
    "",
    "`opnsense-api.json` lists the calls in order. Why the REST API rather than `config.xml` fragments: the MVC models",
    "validate every value on the way in (a wrong value is rejected, not written), the calls add objects instead of restoring",
    "a whole config area over what you set by hand, and each section has a reconfigure/apply endpoint. OPNsense ignores a",
    "field name its model does not have, so `npm test` checks every call against the endpoints and fields of OPNsense's model",
    "XML (core and os-frr at 26.7.2; `packages/ktsw/test/network/fixtures/opnsense-models.json`). Objects refer to each other",
    "by UUIDs the router assigns, so a value `{{ref:X}}` is the `uuid` returned by the call marked `ref: X`; `{{secret:X}}`",
    "is a value you supply. Needs the os-frr and os-wireguard (built in since 24.1) plugins and an API key (System → Access).",
    "The firewall calls end with `/api/firewall/alias/reconfigure` (the filter apply reloads rules, not alias contents) and",
    "then `/api/firewall/filter/apply`.",
    "",
    ...routerApplySection(),
    "## pfSense",
    "",
    "pfSense has no REST API for these: enter the same values in the GUI. FRR comes from the `frr` package (Services → FRR",
    "BGP): neighbors, a peer group, prefix lists and route maps map one to one; BFD is under Services → FRR BFD with the",
    "same per-peer timers. Unbound's host override lives in Services → DNS Resolver (a wildcard needs a custom option",
    `\`local-zone: "${domain}" redirect\` plus \`local-data: "${domain} A ${config.kubernetes.ingressVip}"\`, and the same pair for`,
    `\`api.${domain}\` → ${config.kubernetes.apiVip}). WireGuard is the`,
    "`WireGuard` package. The firewall table above becomes one pass rule per row on the source zone's interface.",
    "",
  );
  return out.join("\n");
}
