// The FRR configuration a MetalLB speaker (FRR mode) writes for one node, from the MetalLB CRs.
// It follows MetalLB's own templates (internal/bgp/frr/templates in metallb/metallb): per-peer
// prefix-lists and route-maps named after the peer address, `network` statements for the
// advertised VIPs (origin IGP on every speaker, so the router sees equal paths and keeps ECMP),
// and the BFD profile. The lab runs this text on each node namespace.
import { contains, parsePool } from "../config/ipv4.ts";
import { durationSeconds, type MetallbCrs } from "./metallb-crs.ts";

export interface SpeakerInput {
  hostname: string;
  crs: MetallbCrs;
  /** The service VIPs MetalLB has assigned and this speaker announces (e.g. the ingress VIP). */
  serviceVips: string[];
}

function poolContains(addresses: string[], vip: string): boolean {
  return addresses.some((a) => {
    const pool = a.includes("-") || a.includes("/") ? a : `${a}/32`;
    return contains(parsePool(pool), vip);
  });
}

/** Which VIPs each peer gets: the advertisements that select the VIP's pool and the peer. */
function prefixesFor(crs: MetallbCrs, peerName: string, vips: string[]): string[] {
  const prefixes = new Set<string>();
  for (const vip of vips) {
    const pools = crs.pools.filter((p) => poolContains(p.addresses, vip)).map((p) => p.name);
    for (const adv of crs.advertisements) {
      const poolOk = !adv.ipAddressPools || adv.ipAddressPools.some((p) => pools.includes(p));
      const peerOk = !adv.peers || adv.peers.includes(peerName);
      if (pools.length > 0 && poolOk && peerOk) {
        if ((adv.aggregationLength ?? 32) !== 32) throw new Error(`BGPAdvertisement ${adv.name}: only /32 is modelled`);
        prefixes.add(`${vip}/32`);
      }
    }
  }
  return [...prefixes].sort();
}

export function renderSpeakerFrr(input: SpeakerInput): string {
  const { crs } = input;
  const lines: string[] = ["! The FRR configuration MetalLB's speaker (FRR mode) derives from the MetalLB CRs."];
  lines.push(`hostname ${input.hostname}`, "ip nht resolve-via-default", "ipv6 nht resolve-via-default", "!");
  const routers = [...new Set(crs.peers.map((p) => p.myASN))];
  const allPrefixes = new Set<string>();
  for (const peer of crs.peers) {
    const id = peer.peerAddress;
    const prefixes = prefixesFor(crs, peer.name, input.serviceVips);
    for (const p of prefixes) allPrefixes.add(p);
    lines.push(`route-map ${id}-in deny 20`, "!");
    if (prefixes.length === 0) lines.push(`ip prefix-list ${id}-allowed-ipv4 seq 1 deny any`);
    prefixes.forEach((p, i) => {
      lines.push(`ip prefix-list ${id}-allowed-ipv4 seq ${i + 1} permit ${p}`);
    });
    lines.push(`ipv6 prefix-list ${id}-allowed-ipv6 seq 1 deny any`, "!");
    lines.push(`route-map ${id}-out permit 1`, ` match ip address prefix-list ${id}-allowed-ipv4`, "!");
    lines.push(`route-map ${id}-out permit 2`, ` match ipv6 address prefix-list ${id}-allowed-ipv6`, "!");
  }
  for (const asn of routers) {
    const peers = crs.peers.filter((p) => p.myASN === asn);
    lines.push(
      `router bgp ${asn}`,
      " no bgp ebgp-requires-policy",
      " no bgp network import-check",
      " no bgp default ipv4-unicast",
      " bgp graceful-restart preserve-fw-state",
    );
    const routerId = peers.find((p) => p.routerID)?.routerID;
    if (routerId) lines.push(` bgp router-id ${routerId}`);
    for (const p of peers) {
      const a = p.peerAddress;
      lines.push(` neighbor ${a} remote-as ${p.peerASN}`);
      if (p.ebgpMultiHop) lines.push(` neighbor ${a} ebgp-multihop`);
      if (p.peerPort) lines.push(` neighbor ${a} port ${p.peerPort}`);
      // MetalLB fills the missing half: keepalive = hold / 3, or hold = keepalive * 3.
      if (p.holdTime || p.keepaliveTime) {
        const hold = p.holdTime ? durationSeconds(p.holdTime) : durationSeconds(p.keepaliveTime ?? "0s") * 3;
        const keepalive = p.keepaliveTime ? durationSeconds(p.keepaliveTime) : Math.floor(hold / 3);
        lines.push(` neighbor ${a} timers ${keepalive} ${hold}`);
      }
      if (p.connectTime) lines.push(` neighbor ${a} timers connect ${durationSeconds(p.connectTime)}`);
      if (p.sourceAddress) lines.push(` neighbor ${a} update-source ${p.sourceAddress}`);
      if (p.bfdProfile) lines.push(` neighbor ${a} bfd`, ` neighbor ${a} bfd profile ${p.bfdProfile}`);
    }
    for (const p of peers) {
      const a = p.peerAddress;
      lines.push(
        " address-family ipv4 unicast",
        `  neighbor ${a} activate`,
        `  neighbor ${a} route-map ${a}-in in`,
        `  neighbor ${a} route-map ${a}-out out`,
        " exit-address-family",
      );
    }
    if (allPrefixes.size > 0) {
      lines.push(" address-family ipv4 unicast");
      for (const p of [...allPrefixes].sort()) lines.push(`  network ${p}`);
      lines.push(" exit-address-family");
    }
    lines.push("exit", "!");
  }
  const usedProfiles = new Set(crs.peers.map((p) => p.bfdProfile).filter(Boolean));
  const profiles = crs.bfdProfiles.filter((b) => usedProfiles.has(b.name));
  for (const name of usedProfiles) {
    if (!profiles.some((b) => b.name === name))
      throw new Error(`BGPPeer names bfdProfile ${name}, which no BFDProfile defines`);
  }
  if (profiles.length > 0) {
    lines.push("bfd");
    for (const b of profiles) {
      lines.push(` profile ${b.name}`);
      if (b.receiveInterval) lines.push(`  receive-interval ${b.receiveInterval}`);
      if (b.transmitInterval) lines.push(`  transmit-interval ${b.transmitInterval}`);
      if (b.detectMultiplier) lines.push(`  detect-multiplier ${b.detectMultiplier}`);
      if (b.echoMode) lines.push("  echo-mode");
      if (b.echoInterval)
        lines.push(`  echo receive-interval ${b.echoInterval}`, `  echo transmit-interval ${b.echoInterval}`);
      if (b.passiveMode) lines.push("  passive-mode");
      if (b.minimumTtl) lines.push(`  minimum-ttl ${b.minimumTtl}`);
      lines.push(" exit");
    }
    lines.push("exit", "!");
  }
  return `${lines.join("\n")}\n`;
}
