// Where each rendered OPNsense call's objects live on the router and how `router apply` recognises
// KTSW's among the user's own. OPNsense's MVC controllers name their CRUD actions after the add
// action (`add_rule` → `search_rule`, `get_rule/{uuid}`, `set_rule/{uuid}`, `del_rule/{uuid}`;
// `set` of a settings model → `get`), so the paths are derived, never listed twice.
export interface ObjectKind {
  add: string;
  search: string;
  get: string;
  set: string;
  del: string;
}

export function objectKind(addPath: string): ObjectKind | undefined {
  const m = /^(.*)\/add_(\w+)$/.exec(addPath);
  if (!m) return undefined;
  const [, base, noun] = m;
  return {
    add: addPath,
    search: `${base}/search_${noun}`,
    get: `${base}/get_${noun}`,
    set: `${base}/set_${noun}`,
    del: `${base}/del_${noun}`,
  };
}

/** A settings model's `set` (one object per router: no uuid) and the `get` that reads it. */
export const settingsGet = (setPath: string): string | undefined =>
  setPath.endsWith("/set") ? `${setPath.slice(0, -"/set".length)}/get` : undefined;

export type Fields = Record<string, string>;

export interface Identity {
  /** What makes two objects of this kind the same one (a changed key is a delete and an add). */
  key: (f: Fields) => string;
  /** Whether an object on the router is KTSW's (it may then be changed or deleted); `refs` are the
   *  uuids of KTSW's objects found so far, by their payload ref. */
  owned: (f: Fields, refs: ReadonlyMap<string, string>) => boolean;
}

const marked = (field: string) => (f: Fields) => (f[field] ?? "").startsWith("ktsw");

/** Per add endpoint of the payload. Models with a description carry the `ktsw` marker there; the
 *  few without one are KTSW's by name or relation, and are never deleted when that is not enough. */
export const identities: Record<string, Identity> = {
  "/api/interfaces/vlan_settings/add_item": { key: (f) => `${f.if}.${f.tag}`, owned: marked("descr") },
  "/api/unbound/settings/add_host_override": {
    key: (f) => `${f.hostname}.${f.domain} ${f.rr}`,
    owned: marked("description"),
  },
  // A WireGuard peer has no description: matched by name, updated, never deleted (it may be yours).
  "/api/wireguard/client/add_client": { key: (f) => f.name ?? "", owned: () => false },
  "/api/wireguard/server/add_server": { key: (f) => f.name ?? "", owned: (f) => f.name === "ktsw" },
  "/api/quagga/bgp/add_prefixlist": { key: (f) => `${f.name}#${f.seqnumber}`, owned: marked("description") },
  "/api/quagga/bgp/add_routemap": { key: (f) => `${f.name}#${f.id}`, owned: marked("description") },
  // The peer group's name comes from the site; updated, never deleted.
  "/api/quagga/bgp/add_peergroup": { key: (f) => f.name ?? "", owned: () => false },
  // A BGP neighbor's description is the node name that frr.conf prints: KTSW's are those in its peer group.
  "/api/quagga/bgp/add_neighbor": {
    key: (f) => f.address ?? "",
    owned: (f, refs) => f.peergroup !== undefined && f.peergroup === refs.get("peergroup"),
  },
  "/api/quagga/bfd/add_neighbor": { key: (f) => f.address ?? "", owned: marked("description") },
  "/api/firewall/alias/add_item": { key: (f) => f.name ?? "", owned: (f) => (f.name ?? "").startsWith("ktsw_") },
  // One policy row becomes a rule per protocol and port, all with the row's description.
  "/api/firewall/filter/add_rule": {
    key: (f) => [f.description, f.protocol, f.destination_port].filter(Boolean).join(" "),
    owned: marked("description"),
  },
};
