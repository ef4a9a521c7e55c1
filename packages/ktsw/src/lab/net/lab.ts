// `ktsw lab net up|down`: the homelab in network namespaces. A router namespace runs the rendered
// FRR config and nftables ruleset; one namespace per node runs the FRR config MetalLB would write
// from our CRs, with the VIPs on `lo` and a tiny server answering its node name; plain hosts stand
// for the admin workstation, a WireGuard client, a WAN device, a new VM and a storage box.
// VLANs: a real 802.1Q trunk if the kernel has it, else one Linux bridge per VLAN in a `switch`
// namespace (same L2 separation, no tags on the wire).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { KtswConfig } from "../../config/schema.ts";
import { whyMissing } from "../../tools/find.ts";
import { runsWith } from "../../tools/proc.ts";
import { applyConfig, type FrrInstance, frrDaemons, startFrr, stopFrr } from "./frr.ts";
import { inNs, ip, run, tryRun } from "./shell.ts";
import {
  type Host,
  type LabNode,
  labPrefix,
  labTopology,
  routerInterface,
  type Topology,
  vlanZones,
} from "./topology.ts";

export type LabMode = "vlan" | "bridge";

export const labDir = join(tmpdir(), "ktsw-net-lab");
const agents = fileURLToPath(new URL("./agents/", import.meta.url));
const listenScript = join(agents, "listen.mjs");

export interface LabConfigs {
  routerFrr: string;
  nftables: string;
  /** FRR config per node name. */
  nodeFrr: Record<string, string>;
}

export interface Lab {
  mode: LabMode;
  topology: Topology;
  router: FrrInstance;
  nodes: Record<string, FrrInstance>;
  configs: LabConfigs;
}

/** Why the lab cannot run here, or undefined when it can. */
export async function labUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "needs root (network namespaces, FRR daemons, nftables)";
  const missing = whyMissing([...frrDaemons, "vtysh", "nft", "ip", "arping"]);
  if (missing) return missing;
  const probe = `${labPrefix}probe-${process.pid}`;
  if (!(await tryRun("ip", ["netns", "add", probe])))
    return "network namespaces are not available (ip netns add failed)";
  await tryRun("ip", ["netns", "del", probe]);
  return undefined;
}

/** Does this kernel create 802.1Q sub-interfaces? Tried in a scratch namespace. */
async function vlanSupported(): Promise<boolean> {
  const ns = `${labPrefix}vlanprobe`;
  await tryRun("ip", ["netns", "del", ns]);
  await ip("netns", "add", ns);
  try {
    await ip("-n", ns, "link", "add", "t0", "type", "veth", "peer", "name", "t1");
    return await tryRun("ip", ["-n", ns, "link", "add", "link", "t0", "name", "t0.10", "type", "vlan", "id", "10"]);
  } finally {
    await tryRun("ip", ["netns", "del", ns]);
  }
}

async function addNs(ns: string): Promise<void> {
  await ip("netns", "add", ns);
  await ip("-n", ns, "link", "set", "lo", "up");
}

/** A veth pair from `a` (named aName) to `b` (named bName), both up. */
async function wire(a: string, aName: string, b: string, bName: string): Promise<void> {
  await ip("-n", a, "link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b);
  await ip("-n", a, "link", "set", aName, "up");
  await ip("-n", b, "link", "set", bName, "up");
}

async function toBridge(switchNs: string, port: string, zone: string): Promise<void> {
  await ip("-n", switchNs, "link", "set", port, "master", `br-${zone}`);
}

async function address(ns: string, dev: string, addr: string, prefix: number): Promise<void> {
  await ip("-n", ns, "addr", "add", `${addr}/${prefix}`, "dev", dev);
}

async function buildSwitchAndRouter(t: Topology, mode: LabMode): Promise<void> {
  for (const zone of vlanZones) {
    await ip("-n", t.switchNs, "link", "add", `br-${zone}`, "type", "bridge");
    await ip("-n", t.switchNs, "link", "set", `br-${zone}`, "up");
  }
  if (mode === "vlan") {
    await wire(t.routerNs, "trunk", t.switchNs, "trunk");
    for (const [i, zone] of vlanZones.entries()) {
      const id = String(10 * (i + 1));
      await ip(
        "-n",
        t.routerNs,
        "link",
        "add",
        "link",
        "trunk",
        "name",
        routerInterface[zone],
        "type",
        "vlan",
        "id",
        id,
      );
      await ip("-n", t.routerNs, "link", "set", routerInterface[zone], "up");
      await ip("-n", t.switchNs, "link", "add", "link", "trunk", "name", `trunk.${id}`, "type", "vlan", "id", id);
      await ip("-n", t.switchNs, "link", "set", `trunk.${id}`, "up");
      await toBridge(t.switchNs, `trunk.${id}`, zone);
    }
  } else {
    for (const zone of vlanZones) {
      await wire(t.routerNs, routerInterface[zone], t.switchNs, `r-${zone}`);
      await toBridge(t.switchNs, `r-${zone}`, zone);
    }
  }
  for (const zone of vlanZones) {
    const a = t.routerAddresses[zone];
    await address(t.routerNs, routerInterface[zone], a.address, a.prefix);
  }
}

async function buildNode(t: Topology, node: LabNode, index: number, vips: string[]): Promise<void> {
  await addNs(node.ns);
  for (const zone of ["nodes", "storage"] as const) {
    const port = `n${index}-${zone.slice(0, 4)}`;
    await wire(node.ns, zone, t.switchNs, port);
    await toBridge(t.switchNs, port, zone);
  }
  await address(node.ns, "nodes", node.nodesAddress, node.prefix.nodes);
  await address(node.ns, "storage", node.storageAddress, node.prefix.storage);
  await ip("-n", node.ns, "route", "add", "default", "via", node.gateway);
  for (const vip of vips) await address(node.ns, "lo", vip, 32);
}

async function buildHost(t: Topology, host: Host): Promise<void> {
  await addNs(host.ns);
  if (host.zone === "wireguard" || host.zone === "wan") {
    // No switch: the tunnel (a veth stands in for wg0) and the WAN uplink are point-to-point.
    await wire(t.routerNs, routerInterface[host.zone], host.ns, "eth0");
    const r = t.routerAddresses[host.zone];
    await address(t.routerNs, routerInterface[host.zone], r.address, r.prefix);
  } else {
    const port = `h-${host.zone}`;
    await wire(host.ns, "eth0", t.switchNs, port);
    await toBridge(t.switchNs, port, host.zone);
  }
  await address(host.ns, "eth0", host.address, host.prefix);
  await ip("-n", host.ns, "route", "add", "default", "via", host.gateway);
}

const listeners: ChildProcess[] = [];

/** Starts agents/listen.mjs in a namespace and waits for its "ready". */
async function listen(
  ns: string,
  spec: { name: string; tcp: { host: string; port: number }[]; udp: { host: string; port: number }[] },
): Promise<void> {
  // stderr to a file: an inherited terminal or pipe would stay open as long as the listener lives.
  const log = await open(join(labDir, `${ns}.listener.log`), "w");
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, listenScript, JSON.stringify(spec)], {
    stdio: ["ignore", "pipe", log.fd],
  });
  await log.close();
  listeners.push(child);
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (l) => {
      if (l !== "ready") return;
      // Ready: stop listening to it so `ktsw lab net up` can exit and leave it running.
      lines.close();
      child.stdout?.destroy();
      child.removeAllListeners("exit");
      child.unref();
      resolve();
    });
    child.on("exit", (code) => reject(new Error(`listener in ${ns} exited (${code})`)));
  });
  await writeFile(join(labDir, `${ns}.listener.pid`), String(child.pid));
}

/** Service ports the lab's hosts answer on (the flow matrix probes these and nothing else). */
export const servicePorts = {
  router: { tcp: [22, 53, 443], udp: [53, 51820] },
  host: { tcp: [22, 80, 443], udp: [] as number[] },
  node: { tcp: [22, 10250], udp: [] as number[] },
  vip: { tcp: [22, 80, 443], udp: [] as number[] },
  /** Control planes only: the API server, which listens on every address (the API VIP's included). */
  api: { tcp: [6443], udp: [] as number[] },
};

async function startListeners(t: Topology): Promise<void> {
  const any = "0.0.0.0";
  const on = (host: string, ports: number[]) => ports.map((port) => ({ host, port }));
  await listen(t.routerNs, {
    name: "router",
    tcp: on(any, servicePorts.router.tcp),
    udp: on(any, servicePorts.router.udp),
  });
  for (const h of t.hosts) await listen(h.ns, { name: h.ns, tcp: on(any, servicePorts.host.tcp), udp: [] });
  for (const n of t.nodes) {
    await listen(n.ns, {
      name: n.name,
      tcp: [
        ...on(n.nodesAddress, servicePorts.node.tcp),
        ...t.vips.flatMap((v) => on(v, servicePorts.vip.tcp)),
        ...(n.role === "control-plane" ? on(any, servicePorts.api.tcp) : []),
      ],
      udp: [],
    });
  }
}

export async function labUp(
  config: KtswConfig,
  configs: LabConfigs,
  log: (s: string) => void = () => {},
): Promise<Lab> {
  await labDown();
  await mkdir(labDir, { recursive: true });
  const t = labTopology(config);
  const mode: LabMode = (await vlanSupported()) ? "vlan" : "bridge";
  log(
    `lab mode: ${mode === "vlan" ? "802.1Q sub-interfaces on a trunk" : "one Linux bridge per VLAN (kernel has no 802.1Q)"}`,
  );
  await addNs(t.switchNs);
  await addNs(t.routerNs);
  await buildSwitchAndRouter(t, mode);
  for (const [i, n] of t.nodes.entries()) await buildNode(t, n, i, t.vips);
  for (const h of t.hosts) await buildHost(t, h);
  await inNs(t.routerNs, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1");
  // Answer every rejected probe: the kernel's ICMP rate limit would turn most refusals into timeouts.
  await inNs(t.routerNs, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0");
  // The firewall goes in before BGP: the sessions must come up *through* it.
  await run("ip", ["netns", "exec", t.routerNs, "nft", "-f", "-"], { input: configs.nftables });
  await startListeners(t);
  const firstServer = t.nodes.find((n) => n.role === "control-plane");
  if (firstServer) await takeApiVip(t, firstServer.name);
  const router = await startFrr(t.routerNs, labDir, configs.routerFrr);
  const nodes: Record<string, FrrInstance> = {};
  for (const n of t.nodes) {
    const cfg = configs.nodeFrr[n.name];
    if (!cfg) throw new Error(`no FRR config for node ${n.name}`);
    nodes[n.name] = await startFrr(n.ns, labDir, cfg);
  }
  return { mode, topology: t, router, nodes, configs };
}

/** Restarts a node's bgpd and re-applies its config: what a restarted speaker pod does. */
export async function restartBgpd(lab: Lab, node: string): Promise<void> {
  const frr = lab.nodes[node];
  const cfg = lab.configs.nodeFrr[node];
  if (!frr || !cfg) throw new Error(`unknown node ${node}`);
  const { startDaemon } = await import("./frr.ts");
  await startDaemon(frr, "bgpd");
  await applyConfig(frr, cfg);
}

function labNode(t: Topology, name: string): LabNode {
  const n = t.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`unknown node ${name}`);
  return n;
}

/** What kube-vip does on the control plane that wins the API VIP's lease: put the address on the
 *  nodes-VLAN interface and announce it with gratuitous ARP, so every neighbour that knew the old
 *  holder's MAC (the router above all) switches to this one at once instead of waiting for its
 *  neighbour entry to go stale. The lab stands in for kube-vip here; the router side is real. */
export async function takeApiVip(t: Topology, node: string): Promise<void> {
  const n = labNode(t, node);
  await ip("-n", n.ns, "addr", "replace", `${t.apiVip}/32`, "dev", "nodes");
  // -U: unsolicited (gratuitous) ARP, sender and target both the VIP; -c 2 as a lost frame would cost a lease.
  await inNs(n.ns, "arping", "-q", "-U", "-c", "2", "-w", "2", "-I", "nodes", t.apiVip);
}

/** What kube-vip does when it stops holding the VIP (lost the lease, or started as a follower). */
export async function releaseApiVip(t: Topology, node: string): Promise<void> {
  const n = labNode(t, node);
  await tryRun("ip", ["-n", n.ns, "addr", "del", `${t.apiVip}/32`, "dev", "nodes"]);
}

/** Removes everything the lab made, and only that: namespaces named ktsw-*, daemons and listeners
 *  by their pid files, the lab folder and FRR's crash-log leftovers of those daemons. */
export async function labDown(): Promise<void> {
  for (const child of listeners.splice(0)) child.kill("SIGTERM");
  let entries: string[] = [];
  try {
    entries = await readdir(labDir);
  } catch {
    entries = [];
  }
  for (const e of entries) {
    if (e.endsWith(".listener.pid")) await killListener(join(labDir, e));
    else {
      const frr = { ns: e, dir: join(labDir, e) };
      await stopFrr(frr, "SIGKILL");
    }
  }
  const namespaces = (await run("ip", ["netns", "list"]))
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(labPrefix));
  for (const ns of namespaces) await tryRun("ip", ["netns", "del", ns]);
  await rm(labDir, { recursive: true, force: true });
  // FRR 8 keeps per-process crash-log folders in /var/tmp/frr/<daemon>.<pid>; the pid is the one
  // before daemonizing, so match on "that process is gone" rather than on our pid files.
  try {
    for (const e of await readdir("/var/tmp/frr")) {
      const [daemon, pid] = e.split(".");
      if ((frrDaemons as readonly string[]).includes(daemon ?? "") && !(await tryRun("test", ["-d", `/proc/${pid}`]))) {
        await rm(join("/var/tmp/frr", e), { recursive: true, force: true });
      }
    }
  } catch {
    // no leftovers
  }
}

/** SIGTERMs the listener a pid file names, only while that pid still runs the listener script (see tools/proc.ts). */
async function killListener(file: string): Promise<void> {
  const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
  if (!runsWith(pid, listenScript)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // gone
  }
}
