import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseMetallbCrs, substituteVariables } from "../../src/network/metallb-crs.ts";
import { renderSpeakerFrr } from "../../src/network/metallb-frr.ts";
import { poolToCidrs } from "../../src/network/pool-prefixes.ts";
import { renderRouterFrr, routerBgpPlan } from "../../src/network/router-bgp.ts";
import { clusterSettingsData } from "../../src/render/cluster-settings.ts";
import { renderRouter, routerDir } from "../../src/render/router/index.ts";
import { mustParse, repoRoot, siteText } from "./helpers.ts";

const config = mustParse(await siteText());
const plan = routerBgpPlan(config);
const frr = renderRouterFrr(plan);

describe("router FRR config (os-frr shape)", () => {
  test("one neighbor per node in the peer group, with BFD and the filters", () => {
    for (const n of config.nodes) {
      const a = n.addresses.nodes;
      expect(frr).toContain(` neighbor ${a} remote-as ${config.kubernetes.clusterAsn}`);
      expect(frr).toContain(` neighbor ${a} peer-group ${plan.peerGroup.name}`);
      expect(frr).toContain(` neighbor ${a} bfd`);
      expect(frr).toContain(`  neighbor ${a} route-map ${plan.importRouteMap} in`);
      expect(frr).toContain(`  neighbor ${a} route-map ${plan.exportRouteMap} out`);
      expect(frr).toContain(` peer ${a}\n  detect-multiplier ${config.kubernetes.bfd.detectMultiplier}`);
    }
    expect(frr).toContain(`router bgp ${config.router.asn}`);
    expect(frr).toContain(`maximum-paths ${config.nodes.length}`);
    expect(frr).toContain("no bgp ebgp-requires-policy");
  });

  test("the import prefix-list is the VIP pool, host routes included, and nothing is exported", () => {
    for (const cidr of poolToCidrs(config.kubernetes.loadBalancerPool)) expect(frr).toContain(`permit ${cidr} le 32`);
    expect(frr).toMatch(new RegExp(`route-map ${plan.exportRouteMap} deny 10\\nexit`));
  });

  test("BFD off renders no bfd section and no neighbor bfd", () => {
    const off = renderRouterFrr(
      routerBgpPlan({
        ...config,
        kubernetes: { ...config.kubernetes, bfd: { ...config.kubernetes.bfd, enabled: false } },
      }),
    );
    expect(off).not.toMatch(/^bfd$/m);
    expect(off).not.toMatch(/ bfd$/m);
  });
});

describe("OPNsense API payload", () => {
  const files = renderRouter(config);
  const api = JSON.parse(files[`${routerDir}/opnsense-api.json`] ?? "{}") as {
    calls: { ref?: string; path: string; body?: unknown }[];
  };

  test("every {{ref:X}} names a call that runs earlier", () => {
    const seen = new Set<string>();
    for (const call of api.calls) {
      for (const m of JSON.stringify(call.body ?? {}).matchAll(/\{\{ref:([^}]+)\}\}/g)) {
        expect(seen.has(m[1] ?? ""), `${call.path} uses ${m[1]} before it exists`).toBe(true);
      }
      if (call.ref) seen.add(call.ref);
    }
  });

  test("the aliases are reconfigured after the last alias or rule is added and before the filter apply", () => {
    const paths = api.calls.map((c) => c.path);
    const reconfigure = paths.indexOf("/api/firewall/alias/reconfigure");
    expect(reconfigure, "alias reconfigure is called").toBeGreaterThanOrEqual(0);
    expect(paths.lastIndexOf("/api/firewall/alias/add_item")).toBeLessThan(reconfigure);
    expect(paths.lastIndexOf("/api/firewall/filter/add_rule")).toBeLessThan(reconfigure);
    expect(paths.indexOf("/api/firewall/filter/apply")).toBeGreaterThan(reconfigure);
  });

  test("WireGuard rules are on the interface group os-wireguard registers, and it is registered before the rules", () => {
    const payload = JSON.parse(files[`${routerDir}/opnsense-api.json`] ?? "{}") as {
      interfaces: Record<string, string>;
    };
    expect(payload.interfaces.wireguard).toBe("wireguard");
    const rules = api.calls.filter((c) => c.path === "/api/firewall/filter/add_rule");
    const onWireguard = rules.filter((c) => JSON.stringify(c.body).includes('"interface":"wireguard"'));
    expect(onWireguard.length).toBeGreaterThan(0);
    const paths = api.calls.map((c) => c.path);
    expect(paths.indexOf("/api/wireguard/service/reconfigure")).toBeLessThan(
      paths.indexOf("/api/firewall/filter/add_rule"),
    );
  });

  test("clients on a private WAN: the README says to untick Block private networks and routes the VIP VLAN via the WAN address", () => {
    const vips = config.network.vlans.public.cidr;
    const readmeFor = (wan?: { network: string; address: string }) =>
      renderRouter({ ...config, router: { ...config.router, wan } })[`${routerDir}/README.md`] ?? "";
    const home = readmeFor({ network: "192.168.178.0/24", address: "192.168.178.5" });
    expect(home).toContain("The WAN network 192.168.178.0/24 is private");
    expect(home).toContain("Interfaces → [WAN] →");
    expect(home).toContain("untick **Block private networks** → Save → Apply changes");
    expect(home).toContain(`ip route add ${vips} via 192.168.178.5`);
    expect(home).toContain(`route -p add ${vips.split("/")[0]} mask 255.255.255.0 192.168.178.5`);
    expect(readmeFor({ network: "203.0.113.0/24", address: "203.0.113.9" })).toContain(
      'The WAN network 203.0.113.0/24 is public: keep "Block private networks" on',
    );
    const unset = readmeFor(undefined);
    expect(unset).toContain("set `router.wan` in `ktsw.yaml`");
    expect(unset).toContain(`ip route add ${vips} via <router WAN address>`);
  });

  test("rules on the WAN disable reply-to, so answers to household clients go straight back", () => {
    const rules = api.calls
      .filter((c) => c.path === "/api/firewall/filter/add_rule")
      .map((c) => (c.body as { rule: Record<string, string> }).rule);
    const onWan = rules.filter((r) => r.interface === "wan");
    expect(onWan.length).toBeGreaterThan(0);
    for (const r of onWan) expect(r.disablereplyto, r.description).toBe("1");
    for (const r of rules.filter((r) => r.interface !== "wan")) expect(r.disablereplyto).toBeUndefined();
  });

  test("one BGP and one BFD neighbor per node, two host overrides, one WireGuard client per peer", () => {
    const count = (path: string) => api.calls.filter((c) => c.path === path).length;
    expect(count("/api/quagga/bgp/add_neighbor")).toBe(config.nodes.length);
    expect(count("/api/quagga/bfd/add_neighbor")).toBe(config.nodes.length);
    expect(count("/api/unbound/settings/add_host_override")).toBe(2);
    expect(count("/api/wireguard/client/add_client")).toBe(config.router.wireguard.peers.length);
    expect(JSON.stringify(api)).not.toMatch(/privkey":"[A-Za-z0-9+/]{43}=/);
  });

  test("api.<domain> is the API VIP: a wildcard of its own zone, which Unbound prefers to the domain's redirect zone", () => {
    const hosts = api.calls
      .filter((c) => c.path === "/api/unbound/settings/add_host_override")
      .map((c) => (c.body as { host: { hostname: string; domain: string; server: string } }).host);
    const domain = config.router.dns.localZone ?? config.site.domain;
    // OPNsense renders a `*` override as `local-zone: "<domain>" redirect`, and Unbound answers every
    // name inside a redirect zone with the zone's own data: a plain `api` host there would be ignored.
    expect(hosts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ hostname: "*", domain, server: config.kubernetes.ingressVip }),
        expect.objectContaining({ hostname: "*", domain: `api.${domain}`, server: config.kubernetes.apiVip }),
      ]),
    );
  });

  test("the README names every node, VLAN and flow reason", () => {
    const readme = files[`${routerDir}/README.md`] ?? "";
    for (const n of config.nodes) expect(readme).toContain(n.addresses.nodes);
    for (const v of Object.values(config.network.vlans)) expect(readme).toContain(v.cidr);
    for (const f of config.router.firewall.flows) expect(readme).toContain(f.why);
  });
});

describe("MetalLB speaker FRR config from the CRs", () => {
  test("unknown ${VAR} is an error, known ones are substituted, defaults apply", () => {
    expect(() => substituteVariables("a: ${NOPE}", {})).toThrow(/NOPE/);
    expect(substituteVariables("a: ${A} ${B:=x}", { A: "1" })).toBe("a: 1 x\n");
    // Flux's rules, from the one shared implementation: `=` defaults an empty value, `-` is a syntax
    // error, and a comment is never substituted.
    expect(substituteVariables("# ${NOPE}\na: ${E=d}", { E: "" })).toBe("a: d\n");
    expect(() => substituteVariables("a: ${E-d}", { E: "" })).toThrow(/missing closing brace/);
  });

  test("the repository's CRs give a peering to the router that announces the ingress VIP with origin IGP", async () => {
    const dir = join(repoRoot, "kubernetes/networking/metallb/config");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    const vars = clusterSettingsData(config);
    const crs = parseMetallbCrs(
      await Promise.all(
        files.map(async (f) => ({ file: f, text: substituteVariables(await readFile(join(dir, f), "utf8"), vars) })),
      ),
    );
    const text = renderSpeakerFrr({ hostname: "n", crs, serviceVips: [config.kubernetes.ingressVip] });
    const router = config.router.addresses.nodes;
    expect(text).toContain(`router bgp ${config.kubernetes.clusterAsn}`);
    expect(text).toContain(` neighbor ${router} remote-as ${config.router.asn}`);
    expect(text).toContain(`  network ${config.kubernetes.ingressVip}/32`);
    expect(text).toContain(`ip prefix-list ${router}-allowed-ipv4 seq 1 permit ${config.kubernetes.ingressVip}/32`);
    expect(text).toContain(`  transmit-interval ${config.kubernetes.bfd.transmitIntervalMs}`);
    expect(text).toContain(`  detect-multiplier ${config.kubernetes.bfd.detectMultiplier}`);
  });
});
