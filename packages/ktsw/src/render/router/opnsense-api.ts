// The router configuration as OPNsense REST API calls, in the order they must run. Why the API and
// not config.xml fragments: the MVC models validate every value on the way in (a wrong value is
// rejected, not silently written; an unknown field name, though, is silently ignored, which is why
// the tests check every call against a description derived from the models), calls are additive (no restore of a whole config area that would wipe
// what you set by hand), and every section has a `reconfigure`/`apply` endpoint that renders and
// reloads the service. Relations between objects (a neighbor's route-map, the WireGuard server's
// peers) are UUIDs the router assigns on creation: a body value `{{ref:NAME}}` means "the uuid the
// call with `ref: NAME` returned", and `{{secret:NAME}}` a value you supply at apply time.
import type { KtswConfig } from "../../config/schema.ts";
import type { Zone } from "../../network/firewall-schema.ts";
import type { RouterBgpPlan } from "../../network/router-bgp.ts";
import { firewallCalls } from "./opnsense-filter.ts";

export interface ApiCall {
  ref?: string;
  method: "POST";
  path: string;
  body?: Record<string, unknown>;
  note?: string;
}

export interface OpnsenseApiPayload {
  about: string;
  /** VLANs are created on this parent NIC; assign them by hand in this order in Interfaces →
   *  Assignments, which gives them these identifiers (26.7's assignment API sets no addresses). */
  trunk: string;
  interfaces: Record<Zone, string>;
  calls: ApiCall[];
}

const bool = (b: boolean) => (b ? "1" : "0");

function bgpCalls(plan: RouterBgpPlan): ApiCall[] {
  const calls: ApiCall[] = [];
  plan.importPrefixes.forEach((network, i) => {
    calls.push({
      ref: `prefixlist-${i + 1}`,
      method: "POST",
      path: "/api/quagga/bgp/add_prefixlist",
      body: {
        prefixlist: {
          enabled: "1",
          name: plan.importPrefixList,
          version: "IPv4",
          seqnumber: String((i + 1) * 10),
          action: "permit",
          network,
          description: "ktsw: MetalLB VIP pool",
        },
      },
    });
  });
  calls.push(
    {
      ref: "routemap-in",
      method: "POST",
      path: "/api/quagga/bgp/add_routemap",
      body: {
        routemap: {
          enabled: "1",
          name: plan.importRouteMap,
          action: "permit",
          id: "10",
          match2: plan.importPrefixes.map((_, i) => `{{ref:prefixlist-${i + 1}}}`).join(","),
          description: "ktsw: accept only VIPs of the pool from the nodes",
        },
      },
    },
    {
      ref: "routemap-out",
      method: "POST",
      path: "/api/quagga/bgp/add_routemap",
      body: {
        routemap: {
          enabled: "1",
          name: plan.exportRouteMap,
          action: "deny",
          id: "10",
          description: "ktsw: announce nothing to the nodes",
        },
      },
    },
    {
      ref: "peergroup",
      method: "POST",
      path: "/api/quagga/bgp/add_peergroup",
      body: {
        peergroup: {
          enabled: "1",
          name: plan.peerGroup.name,
          remoteas: String(plan.peerGroup.remoteAsn),
          family: "ipv4",
        },
      },
    },
  );
  for (const n of plan.neighbors) {
    calls.push({
      method: "POST",
      path: "/api/quagga/bgp/add_neighbor",
      body: {
        neighbor: {
          enabled: "1",
          description: n.name,
          address: n.address,
          remoteas: String(plan.peerGroup.remoteAsn),
          bfd: bool(plan.bfd !== undefined),
          ...(plan.timers ? { keepalive: String(plan.timers.keepalive), holddown: String(plan.timers.hold) } : {}),
          connecttimer: String(plan.connectRetrySeconds),
          peergroup: "{{ref:peergroup}}",
          linkedRoutemapIn: "{{ref:routemap-in}}",
          linkedRoutemapOut: "{{ref:routemap-out}}",
        },
      },
    });
    if (plan.bfd) {
      calls.push({
        method: "POST",
        path: "/api/quagga/bfd/add_neighbor",
        body: {
          neighbor: {
            enabled: "1",
            // `ktsw` marks it KTSW's for `router apply` (frr.conf prints no BFD peer description).
            description: `ktsw: ${n.name}`,
            address: n.address,
            detect_multiplier: String(plan.bfd.detectMultiplier),
            receive_interval: String(plan.bfd.receiveIntervalMs),
            transmit_interval: String(plan.bfd.transmitIntervalMs),
          },
        },
      });
    }
  }
  calls.push({
    method: "POST",
    path: "/api/quagga/bgp/set",
    body: {
      bgp: {
        enabled: "1",
        asnumber: String(plan.asn),
        routerid: plan.routerId,
        logneighborchanges: "1",
        maximumpaths: String(plan.maximumPaths),
      },
    },
  });
  if (plan.bfd) calls.push({ method: "POST", path: "/api/quagga/bfd/set", body: { bfd: { enabled: "1" } } });
  calls.push(
    { method: "POST", path: "/api/quagga/general/set", body: { general: { enabled: "1" } } },
    {
      method: "POST",
      path: "/api/quagga/service/reconfigure",
      note: "renders frr.conf (see frr.conf here) and reloads FRR",
    },
  );
  return calls;
}

export function opnsenseApiPayload(config: KtswConfig, plan: RouterBgpPlan): OpnsenseApiPayload {
  const roles = ["mgmt", "nodes", "storage", "public"] as const;
  const interfaces: Record<Zone, string> = {
    mgmt: "opt1",
    nodes: "opt2",
    storage: "opt3",
    public: "opt4",
    // Not an assignment: os-wireguard (in core since 24.1) registers the interface group `wireguard`
    // ("WireGuard (Group)") while WireGuard is enabled, and puts every instance's wgN device in it
    // (plugins.inc.d/wireguard.inc). The WireGuard reconfigure call runs that registration, so the
    // group exists before the filter rules name it.
    wireguard: "wireguard",
    wan: "wan",
  };
  const trunk = "igb1";
  const calls: ApiCall[] = roles.map((role) => ({
    method: "POST",
    path: "/api/interfaces/vlan_settings/add_item",
    body: { vlan: { if: trunk, tag: String(config.network.vlans[role].id), pcp: "0", descr: `ktsw: ${role}` } },
  }));
  calls.push({ method: "POST", path: "/api/interfaces/vlan_settings/reconfigure" });
  const domain = config.router.dns.localZone ?? config.site.domain;
  calls.push(
    wildcardOverride(domain, config.kubernetes.ingressVip, "ktsw: every *.domain name → the ingress VIP"),
    // api.<domain> (in every server certificate) → the API VIP. It has to be a wildcard of its own
    // zone: OPNsense writes the `*` override above as `local-zone: "<domain>" redirect`, and Unbound
    // answers every name in a redirect zone with the zone's own data, so a plain `api` host inside
    // it would be ignored. This one becomes the more specific zone "api.<domain>", which wins.
    wildcardOverride(`api.${domain}`, config.kubernetes.apiVip, "ktsw: api.domain → the Kubernetes API VIP"),
    { method: "POST", path: "/api/unbound/service/reconfigure" },
  );
  if (config.router.wireguard.enabled) {
    for (const peer of config.router.wireguard.peers) {
      calls.push({
        ref: `wg-peer-${peer.name}`,
        method: "POST",
        path: "/api/wireguard/client/add_client",
        body: {
          client: { enabled: "1", name: peer.name, pubkey: peer.publicKey, tunneladdress: `${peer.address}/32` },
        },
      });
    }
    const prefix = config.router.wireguard.cidr.split("/")[1];
    const [a, b, c, d] = (config.router.wireguard.cidr.split("/")[0] ?? "").split(".").map(Number);
    calls.push(
      {
        method: "POST",
        path: "/api/wireguard/server/add_server",
        body: {
          server: {
            enabled: "1",
            name: "ktsw",
            port: String(config.router.wireguard.port),
            tunneladdress: `${a}.${b}.${c}.${(d ?? 0) + 1}/${prefix}`,
            privkey: "{{secret:wireguard-private-key}}",
            dns: config.router.addresses.mgmt,
            peers: config.router.wireguard.peers.map((p) => `{{ref:wg-peer-${p.name}}}`).join(","),
          },
        },
        note: "generate the key pair on the router; the private key never enters git",
      },
      { method: "POST", path: "/api/wireguard/general/set", body: { general: { enabled: "1" } } },
      { method: "POST", path: "/api/wireguard/service/reconfigure" },
    );
  }
  calls.push(...bgpCalls(plan), ...firewallCalls(config, interfaces));
  return {
    about:
      "Rendered by `ktsw render` from ktsw.yaml; do not edit by hand. POST each call in order to https://<router>/…" +
      " with an API key; replace {{ref:X}} by the uuid the call with ref X returned.",
    trunk,
    interfaces,
    calls,
  };
}

/** An Unbound host override answering every name under `domain` with `server` (OPNsense's `*` host). */
function wildcardOverride(domain: string, server: string, description: string): ApiCall {
  return {
    method: "POST",
    path: "/api/unbound/settings/add_host_override",
    body: { host: { enabled: "1", hostname: "*", domain, rr: "A", server, description } },
  };
}
