// The policy as an nftables ruleset: the Linux form of the OPNsense rules, loaded by the lab's
// router namespace (and usable on any Linux router). Zones are matched by input interface, as
// OPNsense's per-interface rules do. Inside the homelab a denied connection is *rejected* (your own
// devices get an immediate "refused" rather than a hang); from the WAN it is silently dropped.
import type { KtswConfig } from "../config/schema.ts";
import type { Zone } from "./firewall-schema.ts";
import { expandPolicy, type Rule, routedZones } from "./policy.ts";

export type ZoneInterfaces = Record<Zone, string>;

/** Interface names of the Linux router (and the lab): one per zone, named after it. */
export const linuxZoneInterfaces: ZoneInterfaces = {
  mgmt: "mgmt",
  nodes: "nodes",
  storage: "storage",
  public: "public",
  wireguard: "wg0",
  wan: "wan",
};

const set = (items: readonly (string | number)[], quote: boolean) =>
  items.length === 1
    ? quote
      ? `"${items[0]}"`
      : String(items[0])
    : `{ ${items.map((i) => (quote ? `"${i}"` : String(i))).join(", ")} }`;

function ruleLine(rule: Rule, ifs: ZoneInterfaces): string {
  const parts = [
    `iifname ${set(
      rule.from.map((z) => ifs[z]),
      true,
    )}`,
  ];
  if (rule.to.kind === "zone") parts.push(`oifname "${ifs[rule.to.zone]}"`);
  if (rule.to.kind === "lb-pool") parts.push("ip daddr @lb_pool");
  if (rule.proto !== "any") {
    parts.push(rule.ports ? `${rule.proto} dport ${set(rule.ports, false)}` : `meta l4proto ${rule.proto}`);
  }
  return `    ${parts.join(" ")} accept comment "${rule.why.replaceAll('"', "'")}"`;
}

export function renderNftables(config: KtswConfig, ifs: ZoneInterfaces = linuxZoneInterfaces): string {
  const rules = expandPolicy(config);
  const input = rules.filter((r) => r.to.kind === "router");
  const forward = rules.filter((r) => r.to.kind !== "router");
  const internal = routedZones(config)
    .filter((z) => z !== "wan")
    .map((z) => ifs[z]);
  const isolated = config.router.firewall.isolated.map((z) => ifs[z]);
  const denyTail = [
    ...(isolated.length > 0
      ? [`    iifname ${set(isolated, true)} drop comment "isolated zone: never answered, never routed"`]
      : []),
    `    iifname ${set(internal, true)} reject with icmpx admin-prohibited comment "default deny, refused at once inside the homelab"`,
  ];
  return [
    "#!/usr/sbin/nft -f",
    "# Rendered by `ktsw render` from ktsw.yaml (router.firewall); do not edit by hand.",
    "# Default deny: only the flows below pass. Established/related packets are the replies.",
    "table inet ktsw {",
    "  set lb_pool {",
    "    type ipv4_addr",
    "    flags interval",
    `    elements = { ${config.kubernetes.loadBalancerPool} }`,
    "  }",
    "",
    "  chain input {",
    "    type filter hook input priority filter; policy drop;",
    "    ct state established,related accept",
    "    ct state invalid drop",
    '    iifname "lo" accept',
    ...input.map((r) => ruleLine(r, ifs)),
    ...denyTail,
    "  }",
    "",
    "  chain forward {",
    "    type filter hook forward priority filter; policy drop;",
    "    ct state established,related accept",
    "    ct state invalid drop",
    ...forward.map((r) => ruleLine(r, ifs)),
    ...denyTail,
    "  }",
    "",
    "  chain output {",
    "    type filter hook output priority filter; policy accept;",
    "  }",
    "}",
    "",
  ].join("\n");
}
