// The MetalLB promise in kubernetes/networking/metallb/config, checked on the objects
// Flux would apply (built and substituted from this site's cluster-settings): VIPs come from the
// public VLAN, BGP peers only on the nodes VLAN, nothing ever on the storage VLAN, no L2 mode.
import { join, resolve } from "node:path";
import ipaddr from "ipaddr.js";
import { beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { get, nameOf, type Obj } from "../../src/validate/flux.ts";
import { indexSources, readSourceTree } from "../../src/validate/sources.ts";
import { walkFluxGraph } from "../../src/validate/walk.ts";

const repo = resolve(import.meta.dirname, "../../../..");
let objects: Obj[] = [];
let settings: Record<string, string> = {};

function inCidr(address: string, cidr: string): boolean {
  return ipaddr.parse(address).match(ipaddr.parseCIDR(cidr));
}

beforeAll(async () => {
  const { config } = await loadConfig(join(repo, "ktsw.yaml"));
  const tree = await readSourceTree(repo, "kubernetes");
  const walk = await walkFluxGraph(repo, config?.gitops.path ?? "", tree, indexSources(tree.docs));
  objects = walk.objects.filter((a) => a.owner === "flux-system/metallb-config").map((a) => a.object);
  settings = (walk.objects.find((a) => a.object.kind === "ConfigMap" && nameOf(a.object) === "cluster-settings")?.object
    .data ?? {}) as Record<string, string>;
});

describe("MetalLB announces only where it should", () => {
  test("the config Kustomization applies a pool, a BFD profile, a peer and an advertisement", () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(["BFDProfile", "BGPAdvertisement", "BGPPeer", "IPAddressPool"]);
  });

  test("every pool address range lies in the public VLAN, none in the storage VLAN", () => {
    const public_ = settings.PUBLIC_VLAN_CIDR ?? "";
    const storage = settings.STORAGE_VLAN_CIDR ?? "";
    for (const pool of objects.filter((o) => o.kind === "IPAddressPool")) {
      for (const range of get(pool, "spec", "addresses") as string[]) {
        for (const end of range.split("-").map((s) => s.trim().replace(/\/\d+$/, ""))) {
          expect(inCidr(end, public_), `${range} in ${public_}`).toBe(true);
          expect(inCidr(end, storage)).toBe(false);
        }
      }
    }
  });

  test("every BGP peer is on the nodes VLAN (never the storage VLAN) and uses the site's ASNs", () => {
    const peers = objects.filter((o) => o.kind === "BGPPeer");
    expect(peers.length).toBeGreaterThan(0);
    for (const peer of peers) {
      const address = get(peer, "spec", "peerAddress") as string;
      expect(inCidr(address, settings.NODES_VLAN_CIDR ?? "")).toBe(true);
      expect(inCidr(address, settings.STORAGE_VLAN_CIDR ?? "")).toBe(false);
      expect(get(peer, "spec", "myASN")).toBe(Number(settings.CLUSTER_ASN));
      expect(get(peer, "spec", "peerASN")).toBe(Number(settings.ROUTER_ASN));
      expect(get(peer, "spec", "interface")).toBeUndefined();
    }
  });

  test("advertisements name only known peers and pools; no L2Advertisement anywhere in the tree", async () => {
    const peerNames = objects.filter((o) => o.kind === "BGPPeer").map(nameOf);
    const poolNames = objects.filter((o) => o.kind === "IPAddressPool").map(nameOf);
    for (const adv of objects.filter((o) => o.kind === "BGPAdvertisement")) {
      for (const p of get(adv, "spec", "peers") as string[]) expect(peerNames).toContain(p);
      for (const p of get(adv, "spec", "ipAddressPools") as string[]) expect(poolNames).toContain(p);
    }
    const tree = await readSourceTree(repo, "kubernetes");
    expect(tree.docs.filter((d) => d.object.kind === "L2Advertisement")).toEqual([]);
  });

  test("BFD intervals are the site's", () => {
    const bfd = objects.find((o) => o.kind === "BFDProfile");
    expect(get(bfd, "spec", "receiveInterval")).toBe(Number(settings.BFD_RECEIVE_INTERVAL_MS));
    expect(get(bfd, "spec", "transmitInterval")).toBe(Number(settings.BFD_TRANSMIT_INTERVAL_MS));
    expect(get(bfd, "spec", "detectMultiplier")).toBe(Number(settings.BFD_DETECT_MULTIPLIER));
  });
});
