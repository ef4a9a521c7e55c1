// What the rendered OPNsense filter rules mean, read the way pf reads them: the rules of the
// packet's inbound interface in sequence, the first quick match decides, aliases are tables, a
// negated destination matches every address outside it, and no match is OPNsense's default deny.
// Every connection the policy model knows is compared with `decide`, plus the router's WAN address,
// which the model cannot name and a destination `any` would expose.
import { describe, expect, test } from "vitest";
import { contains, isCidr, parseCidr, parsePool, toAddress } from "../../src/config/ipv4.ts";
import { flowMatrix } from "../../src/lab/net/checks.ts";
import { labTopology } from "../../src/lab/net/topology.ts";
import { type Zone, zones } from "../../src/network/firewall-schema.ts";
import { type Connection, type Destination, decide, expandPolicy, routedZones } from "../../src/network/policy.ts";
import { routerBgpPlan } from "../../src/network/router-bgp.ts";
import { type ApiCall, opnsenseApiPayload } from "../../src/render/router/opnsense-api.ts";
import { internalAlias, internalNetworks } from "../../src/render/router/opnsense-filter.ts";
import { mustParse, siteText } from "./helpers.ts";

const config = mustParse(await siteText());
const payload = opnsenseApiPayload(config, routerBgpPlan(config));
const routerWanAddress = "192.0.2.2"; // any address the WAN may get: the rules must not depend on it
const internetHost = "198.51.100.7";

type Body = Record<string, string>;
const bodies = (calls: ApiCall[], path: string, key: string) =>
  calls.filter((c) => c.path === path).map((c) => (c.body as Record<string, Body>)[key] as Body);
const aliases = new Map(
  bodies(payload.calls, "/api/firewall/alias/add_item", "alias").map((a) => [a.name, (a.content ?? "").split("\n")]),
);
const rules = bodies(payload.calls, "/api/firewall/filter/add_rule", "rule").sort(
  (a, b) => Number(a.sequence) - Number(b.sequence),
);

function inEntry(entry: string, address: string): boolean {
  if (isCidr(entry)) return contains(parseCidr(entry), address);
  if (entry.includes("-")) return contains(parsePool(entry), address);
  return entry === address;
}

function inNet(net: string, address: string): boolean {
  if (net === "any") return true;
  if (net === "(self)") return routerAddresses.includes(address);
  const alias = aliases.get(net);
  if (alias) return alias.some((e) => inEntry(e, address));
  return inEntry(net, address);
}

interface Packet {
  from: Zone;
  address: string;
  proto: "tcp" | "udp";
  port: number;
}

function pfDecide(p: Packet): { action: string; rule?: Body } {
  const ifname = payload.interfaces[p.from];
  const rule = rules.find(
    (r) =>
      r.enabled === "1" &&
      r.direction === "in" &&
      (r.interface ?? "").split(",").includes(ifname) &&
      (r.protocol === "any" || r.protocol === "TCP/UDP" || r.protocol?.toLowerCase() === p.proto) &&
      r.source_net === "any" &&
      inNet(r.destination_net ?? "any", p.address) !== (r.destination_not === "1") &&
      (r.destination_port === undefined || r.destination_port === String(p.port)),
  );
  return rule ? { action: rule.action ?? "pass", rule } : { action: "block" };
}

const hostIn = (cidr: string, n = 50) => toAddress(parseCidr(cidr).network + n);
const wireguardRouter = hostIn(config.router.wireguard.cidr, 1); // the router takes the first host
const topology = labTopology(config);
const routerAddresses = [
  ...Object.values(config.router.addresses),
  wireguardRouter,
  routerWanAddress,
  ...Object.values(topology.routerAddresses).map((a) => a.address),
];

/** One concrete address per destination the model knows, as seen from a source zone. */
function addressOf(from: Zone, to: Destination): string {
  if (to.kind === "router") {
    if (from === "wan") return routerWanAddress;
    return from === "wireguard" ? wireguardRouter : config.router.addresses[from as "mgmt"];
  }
  if (to.kind === "lb-pool") return config.kubernetes.ingressVip;
  if (to.zone === "wan") return internetHost;
  if (to.zone === "wireguard") return hostIn(config.router.wireguard.cidr);
  return hostIn(config.network.vlans[to.zone as "mgmt"].cidr);
}

const sources = routedZones(config).filter((z) => z !== "wireguard" || config.router.wireguard.enabled);
const destinations: Destination[] = [
  ...zones.map((zone) => ({ kind: "zone" as const, zone })),
  { kind: "router" },
  { kind: "lb-pool" },
];
const ports = [22, 53, 80, 179, 443, 3784, 6443, 8006, 51820];
const model = expandPolicy(config);

describe("OPNsense filter rules, evaluated as pf evaluates them", () => {
  test("every connection of the policy model gets the model's verdict", () => {
    const wrong: string[] = [];
    for (const from of sources) {
      for (const to of destinations) {
        if (to.kind === "zone" && to.zone === from) continue; // never crosses the router
        for (const proto of ["tcp", "udp"] as const) {
          for (const port of ports) {
            const c: Connection = { from, to, proto, port };
            const want = decide(model, c).allowed ? "pass" : "block";
            const got = pfDecide({ from, address: addressOf(from, to), proto, port });
            if (got.action !== want) {
              wrong.push(
                `${from} → ${to.kind === "zone" ? to.zone : to.kind} ${proto}/${port}: ${got.action} by ${got.rule?.description ?? "default deny"}, model says ${want}`,
              );
            }
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  test("every probe of the network lab's flow matrix gets its expected verdict from the OPNsense rules too", () => {
    const cases = flowMatrix(config, { topology });
    expect(cases.length).toBeGreaterThan(100);
    const wrong = cases
      .map((c) => ({
        c,
        got: pfDecide({ from: c.connection.from, address: c.target.host, proto: c.target.proto, port: c.target.port }),
      }))
      .filter(({ c, got }) => (got.action === "pass" ? "allowed" : "denied") !== c.expected)
      .map(
        ({ c, got }) =>
          `${c.label}: ${got.action} by ${got.rule?.description ?? "default deny"}, expected ${c.expected}`,
      );
    expect(wrong).toEqual([]);
  });

  test("internet-only zones reach the internet but not the router's WAN address, and no rule says destination any", () => {
    const internetZones = sources.filter(
      (from) => decide(model, { from, to: { kind: "zone", zone: "wan" }, proto: "tcp", port: 443 }).allowed,
    );
    expect(internetZones).toContain("nodes");
    for (const from of internetZones) {
      expect(pfDecide({ from, address: internetHost, proto: "tcp", port: 443 }).action).toBe("pass");
      const self = decide(model, { from, to: { kind: "router" }, proto: "tcp", port: 8443 }).allowed;
      expect(pfDecide({ from, address: routerWanAddress, proto: "tcp", port: 8443 }).action).toBe(
        self ? "pass" : "block",
      );
    }
    expect(rules.filter((r) => r.action === "pass" && r.destination_net === "any")).toEqual([]);
  });

  test("the internal alias lists every VLAN and the WireGuard tunnel, one entry per line", () => {
    expect(aliases.get(internalAlias)).toEqual(internalNetworks(config));
    for (const v of Object.values(config.network.vlans)) expect(internalNetworks(config)).toContain(v.cidr);
    expect(internalNetworks(config)).toContain(config.router.wireguard.cidr);
  });
});
