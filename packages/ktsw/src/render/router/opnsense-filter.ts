// The firewall policy as OPNsense filter rules and the aliases they name. pf evaluates the rules of
// an interface in sequence and the first `quick` match wins, so order carries meaning here: what
// nftables says with `oifname "wan"` (leaves through the WAN) has no pf counterpart on an inbound
// rule, and destination `any` would also match every internal network and the router itself.
// "Internet only" is therefore rendered as "not one of our networks" (one alias, negated) behind a
// block to the router's own addresses, placed after every specific allow.
import type { KtswConfig } from "../../config/schema.ts";
import { vlanRoles } from "../../config/schema.ts";
import type { Zone } from "../../network/firewall-schema.ts";
import { destinationLabel, expandPolicy, type Rule } from "../../network/policy.ts";
import type { ApiCall } from "./opnsense-api.ts";

export const internalAlias = "ktsw_internal";
export const lbPoolAlias = "ktsw_lb_pool";

/** Every network behind the router: the VLANs (the isolated one too: the router has an address on
 *  it) and the WireGuard tunnel. The router's VLAN addresses lie inside them; its WAN address is
 *  unknown here, which is why the (self) block precedes the "internet" rules. */
export function internalNetworks(config: KtswConfig): string[] {
  return [
    ...vlanRoles.map((r) => config.network.vlans[r].cidr),
    ...(config.router.wireguard.enabled ? [config.router.wireguard.cidr] : []),
  ];
}

function destination(config: KtswConfig, rule: Rule): { destination_net: string; destination_not: string } {
  const to = rule.to;
  if (to.kind === "router") return { destination_net: "(self)", destination_not: "0" };
  if (to.kind === "lb-pool") return { destination_net: lbPoolAlias, destination_not: "0" };
  if (to.zone === "wan") return { destination_net: internalAlias, destination_not: "1" };
  const cidr = to.zone === "wireguard" ? config.router.wireguard.cidr : config.network.vlans[to.zone as "mgmt"].cidr;
  return { destination_net: cidr, destination_not: "0" };
}

interface FilterRule {
  zone: Zone;
  action: "pass" | "block";
  protocol: string;
  port?: number;
  destination: { destination_net: string; destination_not: string };
  description: string;
}

/** The policy's rules, one per source zone and port, with the (self) blocks in their place. */
export function filterRules(config: KtswConfig): FilterRule[] {
  const expanded = expandPolicy(config);
  const toInternet = (r: Rule) => r.to.kind === "zone" && r.to.zone === "wan";
  const passes = (rules: Rule[]): FilterRule[] =>
    rules.flatMap((rule) =>
      rule.from.flatMap((zone) =>
        (rule.ports ?? [undefined]).map((port) => ({
          zone,
          action: "pass" as const,
          protocol: rule.proto === "any" ? "any" : rule.proto.toUpperCase(),
          ...(port !== undefined ? { port } : {}),
          destination: destination(config, rule),
          description: `ktsw: ${zone} → ${destinationLabel(rule.to)}: ${rule.why}`,
        })),
      ),
    );
  const internetZones = [...new Set(expanded.filter(toInternet).flatMap((r) => r.from))];
  const selfBlocks: FilterRule[] = internetZones.map((zone) => ({
    zone,
    action: "block",
    protocol: "any",
    destination: { destination_net: "(self)", destination_not: "0" },
    description: `ktsw: ${zone} → router: nothing else (the internet rule below would match the router's WAN address)`,
  }));
  return [...passes(expanded.filter((r) => !toInternet(r))), ...selfBlocks, ...passes(expanded.filter(toInternet))];
}

export function firewallCalls(config: KtswConfig, ifs: Record<Zone, string>): ApiCall[] {
  const calls: ApiCall[] = [
    {
      ref: "alias-lb-pool",
      method: "POST",
      path: "/api/firewall/alias/add_item",
      body: {
        alias: {
          enabled: "1",
          name: lbPoolAlias,
          type: "host",
          content: config.kubernetes.loadBalancerPool,
          description: "ktsw: MetalLB VIP pool",
        },
      },
    },
    {
      ref: "alias-internal",
      method: "POST",
      path: "/api/firewall/alias/add_item",
      body: {
        alias: {
          enabled: "1",
          name: internalAlias,
          type: "network",
          // The alias model separates entries with newlines.
          content: internalNetworks(config).join("\n"),
          description: "ktsw: every network behind the router: internet-only rules match NOT this",
        },
      },
    },
  ];
  filterRules(config).forEach((rule, i) => {
    calls.push({
      method: "POST",
      path: "/api/firewall/filter/add_rule",
      body: {
        rule: {
          enabled: "1",
          sequence: String(110 + i * 10),
          action: rule.action,
          quick: "1",
          interface: ifs[rule.zone],
          direction: "in",
          ipprotocol: "inet",
          protocol: rule.protocol,
          source_net: "any",
          ...rule.destination,
          ...(rule.port !== undefined ? { destination_port: String(rule.port) } : {}),
          // A pass rule on an interface with a gateway gets `reply-to` that gateway: the answers to
          // a household client on the WAN's own network would go to the household router instead of
          // straight back. With one WAN the routing table sends everything else the same way.
          ...(rule.zone === "wan" ? { disablereplyto: "1" } : {}),
          description: rule.description,
        },
      },
    });
  });
  // The filter apply reloads rules but not alias contents (OPNsense 26.7 runs `filter reload
  // skip_alias`): without this the rules would name empty alias tables.
  calls.push({
    method: "POST",
    path: "/api/firewall/alias/reconfigure",
    note: "loads the aliases (ktsw_lb_pool, ktsw_internal) into their pf tables before the rules that name them",
  });
  calls.push({
    method: "POST",
    path: "/api/firewall/filter/apply",
    note: "loads the rules; OPNsense 26.7 has no savepoint/rollback (opnsense/core#10411): `ktsw router apply` reads the rules back and puts its old ones back if they differ",
  });
  return calls;
}
