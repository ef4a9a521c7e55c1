// The router's firewall policy as data in ktsw.yaml: zones are the VLANs plus the WAN and the
// WireGuard tunnel; each flow opens one path (from zones, to zones/the router/the VIP pool, a
// protocol, ports). Everything not listed is denied. OPNsense rules and the lab's nftables ruleset
// are both rendered from this one list, so the lab proves the policy the router will enforce.
import { z } from "zod";

export const zones = ["mgmt", "nodes", "storage", "public", "wireguard", "wan"] as const;
export type Zone = (typeof zones)[number];

/** Destinations besides zones: the router itself and the MetalLB VIP pool (routed to the nodes). */
export const targets = [...zones, "router", "lb-pool", "any"] as const;
export type Target = (typeof targets)[number];

export const protocols = ["tcp", "udp", "tcp/udp", "any"] as const;
export type Protocol = (typeof protocols)[number];

const flow = z
  .object({
    from: z.array(z.enum([...zones, "any"])).min(1),
    to: z.array(z.enum(targets)).min(1),
    proto: z.enum(protocols).default("any"),
    ports: z.array(z.number().int().min(1).max(65535)).optional().describe("Destination ports; omit for all"),
    why: z.string().min(1).describe("One line: who needs this and for what"),
  })
  .strict()
  .refine((f) => f.proto !== "any" || f.ports === undefined, {
    message: "ports need a protocol: set proto to tcp, udp or tcp/udp",
    path: ["ports"],
  });

export type Flow = z.output<typeof flow>;

/** A "client" is anything that consumes the homelab's services without being part of it: the
 *  household network on the router's WAN side and the road-warrior devices on WireGuard. */
export const defaultFlows: Flow[] = [
  {
    from: ["mgmt"],
    to: ["any"],
    proto: "any",
    why: "the admin workstation manages everything (storage excepted: never routed)",
  },
  {
    from: ["wan", "wireguard"],
    to: ["lb-pool"],
    proto: "tcp",
    ports: [80, 443],
    why: "clients reach the ingress VIPs over HTTP(S) only",
  },
  {
    from: ["wireguard"],
    to: ["router"],
    proto: "tcp/udp",
    ports: [53],
    why: "road-warrior clients resolve *.domain through Unbound",
  },
  { from: ["wan"], to: ["router"], proto: "udp", ports: [51820], why: "WireGuard handshakes from the outside" },
  {
    from: ["nodes"],
    to: ["router"],
    proto: "tcp",
    ports: [179],
    why: "MetalLB speakers peer with the router over BGP",
  },
  {
    from: ["nodes"],
    to: ["router"],
    proto: "udp",
    ports: [3784, 3785, 4784],
    why: "BFD (single-hop control, echo, multi-hop) for sub-second failover",
  },
  { from: ["nodes"], to: ["router"], proto: "tcp/udp", ports: [53], why: "nodes resolve names through Unbound" },
  { from: ["nodes"], to: ["wan"], proto: "any", why: "nodes pull images and updates from the internet" },
];

export const firewallSchema = z
  .object({
    isolated: z
      .array(z.enum(zones))
      .default(["storage"])
      .describe("Zones never routed: `any` does not include them and no flow may name them"),
    flows: z.array(flow).default(defaultFlows),
  })
  .strict()
  .superRefine((fw, ctx) => {
    fw.flows.forEach((f, i) => {
      for (const [side, list] of [
        ["from", f.from],
        ["to", f.to],
      ] as const) {
        list.forEach((zone, j) => {
          if ((fw.isolated as string[]).includes(zone)) {
            ctx.addIssue({
              code: "custom",
              path: ["flows", i, side, j],
              message: `${zone} is isolated (firewall.isolated): no flow may name it`,
            });
          }
        });
      }
    });
  })
  .default({ isolated: ["storage"], flows: defaultFlows });

export type FirewallPolicy = z.output<typeof firewallSchema>;
