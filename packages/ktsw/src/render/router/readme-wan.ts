// The README section for clients on the WAN side: what OPNsense does to them before any rule of
// ours (its "Block private networks" option) and the route they need to the VIP VLAN. Concrete
// values when ktsw.yaml has router.wan, placeholders otherwise.
import { containsRange, parseCidr } from "../../config/ipv4.ts";
import type { KtswConfig } from "../../config/schema.ts";

/** The sources "Block private networks" drops on an interface (OPNsense core, filter.lib.inc). */
export const blockPrivateNetworks = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "127.0.0.0/8",
  "100.64.0.0/10",
  "169.254.0.0/16",
];

export function isBlockedAsPrivate(cidr: string): boolean {
  return blockPrivateNetworks.some((p) => containsRange(parseCidr(p), parseCidr(cidr)));
}

function maskOf(cidr: string): string {
  const prefix = parseCidr(cidr).prefix;
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join(".");
}

export function wanClientsSection(config: KtswConfig): string[] {
  const wan = config.router.wan;
  const vips = config.network.vlans.public.cidr;
  const [vipNet] = vips.split("/");
  const gw = wan?.address ?? "<router WAN address>";
  const privateWan = wan ? isBlockedAsPrivate(wan.network) : undefined;
  const blockpriv =
    privateWan === false
      ? [
          `The WAN network ${wan?.network} is public: keep "Block private networks" on (Interfaces → [WAN]).`,
          "Clients elsewhere on the internet reach the VIPs only if your provider routes the VIP VLAN to the router.",
        ]
      : [
          `${wan ? `The WAN network ${wan.network} is private, so` : "If the WAN sits in a private household network (set `router.wan` in `ktsw.yaml`),"} its clients`,
          'are dropped by OPNsense\'s "Block private networks" on the WAN, a rule evaluated before every rule here (the',
          "setup wizard and the console's interface assignment turn it on). Turn it off by hand: Interfaces → [WAN] →",
          "Generic configuration → untick **Block private networks** → Save → Apply changes (`config.xml`:",
          "`<interfaces><wan><blockpriv>` is gone). OPNsense 26.7 has no API for it: its assignment API",
          "(`/api/interfaces/assignment`) carries only device and description; `blockpriv` joined that model after 26.7.2",
          "(opnsense/core#10740). Keep **Block bogon networks** on: OPNsense's bogon list leaves the private ranges out.",
        ];
  return [
    "## Clients on the WAN side",
    "",
    ...blockpriv,
    "",
    `Household clients also need a route to the VIP VLAN ${vips} through the router's WAN address ${gw} (WireGuard`,
    "clients do not: the tunnel routes it). Best, from the household router's DHCP server (classless static route,",
    "option 121), so every client learns it with its lease; or one static route per client:",
    "",
    "```sh",
    `ip route add ${vips} via ${gw}  # Linux`,
    `sudo route -n add -net ${vips} ${gw}  # macOS`,
    `route -p add ${vipNet} mask ${maskOf(vips)} ${gw}  # Windows, in an administrator shell`,
    "```",
    "",
    "A static route on the household router alone also works, but then requests go client → household router →",
    "this router and answers come straight back: some household routers drop that asymmetric flow. The WAN rules are",
    "rendered with `disablereplyto` so the answers go straight to the client rather than via the WAN gateway.",
    "",
  ];
}
