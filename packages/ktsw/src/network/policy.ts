// The firewall policy, expanded: `any` and `tcp/udp` become concrete zones and protocols so every
// renderer (OPNsense API payloads, nftables) and the lab's flow matrix read the same flat rules.
// `decide` answers "is this connection allowed?" straight from the rules; the lab compares what
// the real nftables ruleset does against it.
import type { KtswConfig } from "../config/schema.ts";
import { type Flow, type Zone, zones } from "./firewall-schema.ts";

export type Destination = { kind: "zone"; zone: Zone } | { kind: "router" } | { kind: "lb-pool" };
export type L4 = "tcp" | "udp" | "any";

export interface Rule {
  from: Zone[];
  to: Destination;
  proto: L4;
  ports?: number[];
  why: string;
}

export function routedZones(config: KtswConfig): Zone[] {
  const isolated = new Set<string>(config.router.firewall.isolated);
  return zones.filter((z) => !isolated.has(z) && (z !== "wireguard" || config.router.wireguard.enabled));
}

export function destinationLabel(d: Destination): string {
  return d.kind === "zone" ? d.zone : d.kind;
}

function expandFlow(config: KtswConfig, flow: Flow): Rule[] {
  const routed = routedZones(config);
  const from = flow.from.includes("any") ? routed : routed.filter((z) => flow.from.includes(z));
  if (from.length === 0) return [];
  const destinations: Destination[] = [];
  for (const to of flow.to) {
    if (to === "any") {
      // Traffic within a zone never crosses the router, so `any` means every other zone.
      for (const z of routed) if (!from.includes(z) || from.length > 1) destinations.push({ kind: "zone", zone: z });
      destinations.push({ kind: "router" }, { kind: "lb-pool" });
    } else if (to === "router" || to === "lb-pool") destinations.push({ kind: to });
    else if (routed.includes(to)) destinations.push({ kind: "zone", zone: to });
  }
  const unique = [...new Map(destinations.map((d) => [destinationLabel(d), d])).values()];
  const protos: L4[] = flow.proto === "tcp/udp" ? ["tcp", "udp"] : [flow.proto];
  return unique.flatMap((to) =>
    protos.map((proto) => ({ from, to, proto, ...(flow.ports ? { ports: flow.ports } : {}), why: flow.why })),
  );
}

export function expandPolicy(config: KtswConfig): Rule[] {
  return config.router.firewall.flows.flatMap((f) => expandFlow(config, f));
}

export interface Connection {
  from: Zone;
  to: Destination;
  proto: "tcp" | "udp";
  port: number;
}

export function matches(rule: Rule, c: Connection): boolean {
  if (!rule.from.includes(c.from)) return false;
  if (destinationLabel(rule.to) !== destinationLabel(c.to)) return false;
  if (rule.proto !== "any" && rule.proto !== c.proto) return false;
  return rule.ports === undefined || rule.ports.includes(c.port);
}

/** Default deny: a connection is allowed only when some rule names it. */
export function decide(rules: readonly Rule[], c: Connection): { allowed: boolean; rule?: Rule } {
  const rule = rules.find((r) => matches(r, c));
  return rule ? { allowed: true, rule } : { allowed: false };
}
