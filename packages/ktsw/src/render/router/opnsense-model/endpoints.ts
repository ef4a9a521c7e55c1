// The OPNsense REST endpoints the rendered payload calls, and where each one's body is defined:
// the MVC controller's addBase/setBase names the body key and the model node (read in the
// controllers of the versions in `upstream`). Bodiless calls (reconfigure/apply) have no model.

export const upstream = {
  core: { repo: "opnsense/core", tag: "26.7.2" },
  plugins: { repo: "opnsense/plugins", tag: "26.7.2", plugin: "net/frr" },
} as const;

export interface EndpointSource {
  repo: "core" | "plugins";
  /** The model's XML file in that repository. */
  model: string;
  /** The body's top-level key (the controller's $internalModelName or addBase's first argument). */
  body: string;
  /** The model node the body fills: an ArrayField item path, or "" for the model's own fields (`set`). */
  node: string;
  /** Fields the controller fills itself (addBase's overlay), never sent. */
  filledByController?: string[];
}

const core = (model: string) => `src/opnsense/mvc/app/models/OPNsense/${model}.xml`;
const frr = (model: string) => `net/frr/src/opnsense/mvc/app/models/OPNsense/Quagga/${model}.xml`;

export const endpointSources: Record<string, EndpointSource | null> = {
  "/api/interfaces/vlan_settings/add_item": {
    repo: "core",
    model: core("Interfaces/Vlan"),
    body: "vlan",
    node: "vlan",
    filledByController: ["vlanif"],
  },
  "/api/interfaces/vlan_settings/reconfigure": null,
  "/api/unbound/settings/add_host_override": {
    repo: "core",
    model: core("Unbound/Unbound"),
    body: "host",
    node: "hosts.host",
  },
  "/api/unbound/service/reconfigure": null,
  "/api/wireguard/client/add_client": {
    repo: "core",
    model: core("Wireguard/Client"),
    body: "client",
    node: "clients.client",
  },
  "/api/wireguard/server/add_server": {
    repo: "core",
    model: core("Wireguard/Server"),
    body: "server",
    node: "servers.server",
  },
  "/api/wireguard/general/set": { repo: "core", model: core("Wireguard/General"), body: "general", node: "" },
  "/api/wireguard/service/reconfigure": null,
  "/api/quagga/bgp/add_prefixlist": {
    repo: "plugins",
    model: frr("BGP"),
    body: "prefixlist",
    node: "prefixlists.prefixlist",
  },
  "/api/quagga/bgp/add_routemap": { repo: "plugins", model: frr("BGP"), body: "routemap", node: "routemaps.routemap" },
  "/api/quagga/bgp/add_peergroup": {
    repo: "plugins",
    model: frr("BGP"),
    body: "peergroup",
    node: "peergroups.peergroup",
  },
  "/api/quagga/bgp/add_neighbor": { repo: "plugins", model: frr("BGP"), body: "neighbor", node: "neighbors.neighbor" },
  "/api/quagga/bgp/set": { repo: "plugins", model: frr("BGP"), body: "bgp", node: "" },
  "/api/quagga/bfd/add_neighbor": { repo: "plugins", model: frr("BFD"), body: "neighbor", node: "neighbors.neighbor" },
  "/api/quagga/bfd/set": { repo: "plugins", model: frr("BFD"), body: "bfd", node: "" },
  "/api/quagga/general/set": { repo: "plugins", model: frr("General"), body: "general", node: "" },
  "/api/quagga/service/reconfigure": null,
  "/api/firewall/alias/add_item": { repo: "core", model: core("Firewall/Alias"), body: "alias", node: "aliases.alias" },
  "/api/firewall/alias/reconfigure": null,
  "/api/firewall/filter/add_rule": { repo: "core", model: core("Firewall/Filter"), body: "rule", node: "rules.rule" },
  "/api/firewall/filter/apply": null,
};
