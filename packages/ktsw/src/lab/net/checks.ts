// What the lab asserts, as queries against the running namespaces: BGP/BFD state from vtysh's
// JSON, the VIP's next hops from the router's kernel FIB, and connections made by agents/probe.mjs.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KtswConfig } from "../../config/schema.ts";
import type { Zone } from "../../network/firewall-schema.ts";
import { type Connection, type Destination, decide, destinationLabel, expandPolicy } from "../../network/policy.ts";
import { vtysh } from "./frr.ts";
import { type Lab, servicePorts } from "./lab.ts";
import { type PollOptions, poll } from "./poll.ts";
import { ip, run } from "./shell.ts";

const agents = fileURLToPath(new URL("./agents/", import.meta.url));

export async function bgpPeerStates(lab: Lab): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await bgpPeers(lab)).map(([addr, p]) => [addr, p.state]));
}

export interface PeerState {
  state: string;
  /** How long the session has been up (FRR's peerUptimeMsec, 0 when not up). */
  upMs: number;
}

async function peersOf(frr: Lab["router"]): Promise<Record<string, PeerState>> {
  const summary = JSON.parse(await vtysh(frr, "show bgp ipv4 unicast summary json")) as {
    peers?: Record<string, { state: string; peerUptimeMsec?: number }>;
  };
  return Object.fromEntries(
    Object.entries(summary.peers ?? {}).map(([addr, p]) => [addr, { state: p.state, upMs: p.peerUptimeMsec ?? 0 }]),
  );
}

/** The router's BGP peers, by node address. */
export const bgpPeers = (lab: Lab): Promise<Record<string, PeerState>> => peersOf(lab.router);

/**
 * Each node's own view of its session with the router, by node address. A node's bgpd drops its
 * session the moment its link flaps, while the router, if the flap was shorter than BFD's detection
 * time, goes on counting the old session's uptime until the node's reset reaches it: only the node
 * knows at once that a reset is under way.
 */
export async function nodeSessions(lab: Lab): Promise<Record<string, PeerState>> {
  const views = await Promise.all(
    lab.topology.nodes.map(async (n) => {
      const frr = lab.nodes[n.name];
      if (!frr) throw new Error(`no FRR instance for ${n.name}`);
      // A node has one peer, the router.
      const [session = { state: "no peer", upMs: 0 }] = Object.values(await peersOf(frr));
      return [n.nodesAddress, session] as const;
    }),
  );
  return Object.fromEntries(views);
}

export async function bfdPeerStates(lab: Lab): Promise<Record<string, string>> {
  const peers = JSON.parse(await vtysh(lab.router, "show bfd peers json")) as { peer: string; status: string }[];
  return Object.fromEntries(peers.map((p) => [p.peer, p.status]));
}

/** The gateways of the VIP's route in the router's kernel FIB (what forwarding really uses). */
export async function vipNextHops(lab: Lab, vip: string): Promise<string[]> {
  const routes = JSON.parse(await ip("-n", lab.topology.routerNs, "-j", "route", "show", "table", "main")) as {
    dst: string;
    gateway?: string;
    nexthops?: { gateway: string }[];
  }[];
  return routes
    .filter((r) => r.dst === vip || r.dst === `${vip}/32`)
    .flatMap((r) => (r.nexthops ? r.nexthops.map((n) => n.gateway) : r.gateway ? [r.gateway] : []))
    .sort();
}

export interface ProbeTarget {
  proto: "tcp" | "udp";
  host: string;
  port: number;
  timeoutMs: number;
}

export interface ProbeResult {
  status: string;
  body: string;
}

export async function probe(ns: string, targets: ProbeTarget[]): Promise<ProbeResult[]> {
  const out = await run("ip", [
    "netns",
    "exec",
    ns,
    process.execPath,
    join(agents, "probe.mjs"),
    JSON.stringify(targets),
  ]);
  return JSON.parse(out) as ProbeResult[];
}

export interface FlowCase {
  sourceNs: string;
  connection: Connection;
  target: ProbeTarget;
  expected: "allowed" | "denied";
  why: string;
  label: string;
}

/** Every source zone × every destination × every service port the lab answers on, each with the
 *  verdict the policy model gives. Ports owned by FRR (bgpd's 179 from a peer, BFD's UDP) are not
 *  probed here: the sessions coming up through the firewall prove those. */
export function flowMatrix(config: KtswConfig, lab: Pick<Lab, "topology">): FlowCase[] {
  const rules = expandPolicy(config);
  const t = lab.topology;
  const cases: FlowCase[] = [];
  const firstNode = t.nodes[0];
  for (const src of t.hosts) {
    const dests: { to: Destination; host: string; tcp: number[]; udp: number[] }[] = [];
    for (const dst of t.hosts) {
      if (dst.zone !== src.zone)
        dests.push({ to: { kind: "zone", zone: dst.zone }, host: dst.address, ...servicePorts.host });
    }
    if (firstNode && src.zone !== "nodes") {
      dests.push({ to: { kind: "zone", zone: "nodes" }, host: firstNode.nodesAddress, ...servicePorts.node });
    }
    const facing = t.routerAddresses[src.zone as Zone];
    dests.push({
      to: { kind: "router" },
      host: facing.address,
      tcp: [...servicePorts.router.tcp, 179],
      udp: servicePorts.router.udp,
    });
    for (const vip of t.vips) dests.push({ to: { kind: "lb-pool" }, host: vip, ...servicePorts.vip });
    // The API VIP is a nodes-VLAN address, so the firewall judges it as the nodes zone; from the
    // nodes VLAN itself it is on-link and never crosses the router (the API VIP check covers that).
    if (src.zone !== "nodes") {
      dests.push({ to: { kind: "zone", zone: "nodes" }, host: t.apiVip, ...servicePorts.api });
    }
    for (const d of dests) {
      for (const proto of ["tcp", "udp"] as const) {
        for (const port of d[proto]) {
          const connection: Connection = { from: src.zone, to: d.to, proto, port };
          const verdict = decide(rules, connection);
          cases.push({
            sourceNs: src.ns,
            connection,
            target: { proto, host: d.host, port, timeoutMs: 2000 },
            expected: verdict.allowed ? "allowed" : "denied",
            why: verdict.rule?.why ?? "not in the policy: default deny",
            label: `${src.zone} → ${destinationLabel(d.to)} ${proto}/${port} (${d.host})`,
          });
        }
      }
    }
  }
  return cases;
}

export interface FlowOutcome extends FlowCase {
  result: ProbeResult;
  ok: boolean;
}

export async function runFlowMatrix(config: KtswConfig, lab: Lab): Promise<FlowOutcome[]> {
  const cases = flowMatrix(config, lab);
  const bySource = new Map<string, FlowCase[]>();
  for (const c of cases) bySource.set(c.sourceNs, [...(bySource.get(c.sourceNs) ?? []), c]);
  const outcomes: FlowOutcome[] = [];
  await Promise.all(
    [...bySource].map(async ([ns, list]) => {
      const results = await probe(
        ns,
        list.map((c) => c.target),
      );
      list.forEach((c, i) => {
        const result = results[i] ?? { status: "missing", body: "" };
        const ok =
          c.expected === "allowed"
            ? result.status === "open"
            : result.status === "refused" || result.status === "timeout";
        outcomes.push({ ...c, result, ok });
      });
    }),
  );
  return outcomes;
}

/** `count` requests to the VIP from the client, each a new connection (a new source port). */
export async function vipAnswers(lab: Lab, vip: string, count: number): Promise<string[]> {
  const client = lab.topology.hosts.find((h) => h.zone === "wireguard") ?? lab.topology.hosts[0];
  if (!client) throw new Error("no client host");
  const results = await probe(
    client.ns,
    Array.from({ length: count }, () => ({ proto: "tcp" as const, host: vip, port: 80, timeoutMs: 3000 })),
  );
  return results.map((r) => (r.status === "open" ? r.body : `<${r.status}>`));
}

/** The MAC a namespace's neighbour table holds for an address (undefined: no usable entry). */
export async function neighbourMac(ns: string, address: string): Promise<string | undefined> {
  const entries = JSON.parse(await ip("-n", ns, "-j", "neigh", "show", address)) as {
    lladdr?: string;
    state?: string[];
  }[];
  return entries.find((e) => e.lladdr && !e.state?.includes("FAILED"))?.lladdr;
}

/** The MAC of a node's nodes-VLAN interface. */
export async function nodeMac(lab: Lab, node: string): Promise<string> {
  const n = lab.topology.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`unknown node ${node}`);
  const link = JSON.parse(await ip("-n", n.ns, "-j", "link", "show", "nodes")) as { address: string }[];
  const mac = link[0]?.address;
  if (!mac) throw new Error(`${node} has no nodes interface`);
  return mac;
}

/** One connection to the API VIP's :6443 from a namespace: the answering control plane's name, or <status>. */
export async function apiAnswer(lab: Lab, fromNs: string, timeoutMs = 1000): Promise<string> {
  const [r] = await probe(fromNs, [{ proto: "tcp", host: lab.topology.apiVip, port: 6443, timeoutMs }]);
  return r?.status === "open" ? r.body : `<${r?.status ?? "no result"}>`;
}

/** Polls the router's FIB until the VIP's next hops satisfy `predicate`; fails loudly after `timeoutMs`. */
export async function waitForNextHops(
  lab: Lab,
  vip: string,
  what: string,
  predicate: (hops: string[]) => boolean,
  { timeoutMs = 10_000, everyMs = 50 }: Partial<PollOptions> = {},
): Promise<string[]> {
  return poll(`${vip}'s next hops: ${what}`, () => vipNextHops(lab, vip), predicate, { timeoutMs, everyMs });
}

/**
 * Polls until every node's BGP session (and, with `bfd`, its BFD session) is up; fails loudly after `timeoutMs`.
 * `stableMs`: each BGP session must also have been Established that long, so a reset already under way (a node's
 * bgpd drops its eBGP session on an interface flap, the router hears of it a moment later) is not taken for "up".
 */
export async function waitForSessions(
  lab: Lab,
  {
    bfd = false,
    stableMs = 0,
    timeoutMs = 30_000,
    everyMs = 250,
  }: { bfd?: boolean; stableMs?: number } & Partial<PollOptions> = {},
): Promise<void> {
  const peers = lab.topology.nodes.map((n) => n.nodesAddress);
  const all = (state: string) => (s: Record<string, string>) => peers.every((p) => s[p] === state);
  const what = `every BGP session Established${stableMs ? ` for ${stableMs} ms, in the router's view and the node's` : ""}`;
  const held = (s: Record<string, PeerState>) =>
    peers.every((p) => s[p]?.state === "Established" && (s[p]?.upMs ?? 0) >= stableMs);
  await poll(
    what,
    async () => ({ router: await bgpPeers(lab), nodes: stableMs ? await nodeSessions(lab) : undefined }),
    (v) => held(v.router) && (v.nodes === undefined || held(v.nodes)),
    { timeoutMs, everyMs },
  );
  if (bfd) await poll("every BFD session up", () => bfdPeerStates(lab), all("up"), { timeoutMs, everyMs });
}

export async function setNodeLink(lab: Lab, node: string, state: "up" | "down"): Promise<void> {
  const n = lab.topology.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`unknown node ${node}`);
  await ip("-n", n.ns, "link", "set", "nodes", state);
  if (state === "up") {
    // Bringing a link up drops its routes: put the default route back, as the node's network config would.
    await ip("-n", n.ns, "route", "replace", "default", "via", n.gateway);
  }
}
