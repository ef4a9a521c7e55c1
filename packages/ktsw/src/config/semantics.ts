// Cross-field rules of ktsw.yaml. Each returns every problem it sees (not just the first), as a
// path into the document plus a message that says what is wrong and what would be right.
import {
  contains,
  containsRange,
  isHostAddress,
  overlaps,
  parseCidr,
  parsePool,
  type Range,
  toNumber,
} from "./ipv4.ts";
import type { PathSegment } from "./locate.ts";
import { type KtswConfig, vlanRoles } from "./schema.ts";

export interface SemanticProblem {
  path: PathSegment[];
  message: string;
  rule: string;
}

/** Minimum memory per role, MiB: a control plane runs etcd, the API server and Cilium's operator. */
export const minimumMemoryMiB = { "control-plane": 4096, worker: 2048 } as const;

/** RFC 6996 private ASN ranges: 16-bit and 32-bit. */
export function isPrivateAsn(asn: number): boolean {
  return (asn >= 64512 && asn <= 65534) || (asn >= 4200000000 && asn <= 4294967294);
}

function vlanLabel(config: KtswConfig, role: (typeof vlanRoles)[number]): string {
  const v = config.network.vlans[role];
  return `VLAN ${v.id} (${v.cidr})`;
}

function checkAddressesInVlans(c: KtswConfig): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const expect = (path: PathSegment[], address: string, role: (typeof vlanRoles)[number]) => {
    const block = parseCidr(c.network.vlans[role].cidr);
    if (!contains(block, address)) {
      problems.push({
        path,
        rule: "config.address-in-vlan",
        message: `${address} is not inside ${vlanLabel(c, role)}`,
      });
    } else if (!isHostAddress(block, address)) {
      problems.push({
        path,
        rule: "config.address-in-vlan",
        message: `${address} is the network or broadcast address of ${vlanLabel(c, role)}`,
      });
    }
  };
  for (const role of vlanRoles) {
    expect(["network", "vlans", role, "gateway"], c.network.vlans[role].gateway, role);
    expect(["router", "addresses", role], c.router.addresses[role], role);
  }
  for (const [i, h] of c.proxmox.hosts.entries()) expect(["proxmox", "hosts", i, "address"], h.address, "mgmt");
  const wan = c.router.wan;
  if (wan && !isHostAddress(parseCidr(wan.network), wan.address)) {
    problems.push({
      path: ["router", "wan", "address"],
      rule: "config.address-in-vlan",
      message: `${wan.address} is not a host address of the WAN network ${wan.network}`,
    });
  }
  c.nodes.forEach((n, i) => {
    expect(["nodes", i, "addresses", "nodes"], n.addresses.nodes, "nodes");
    expect(["nodes", i, "addresses", "storage"], n.addresses.storage, "storage");
  });
  return problems;
}

/** Reports every later occurrence of a value that appeared before, pointing back at the first. */
function duplicates<T>(
  items: { path: PathSegment[]; value: T }[],
  rule: string,
  describe: (value: T) => string,
): SemanticProblem[] {
  const seen = new Map<string, PathSegment[]>();
  const problems: SemanticProblem[] = [];
  for (const item of items) {
    const key = String(item.value);
    const first = seen.get(key);
    if (first) {
      const firstText = first
        .map((s) => (typeof s === "number" ? `[${s}]` : `.${s}`))
        .join("")
        .replace(/^\./, "");
      problems.push({ path: item.path, rule, message: `${describe(item.value)} is already used by ${firstText}` });
    } else seen.set(key, item.path);
  }
  return problems;
}

function checkDuplicates(c: KtswConfig): SemanticProblem[] {
  const ips: { path: PathSegment[]; value: string }[] = [];
  // A VLAN's gateway is normally the router's own address on it, so gateways are not counted twice.
  for (const role of vlanRoles) ips.push({ path: ["router", "addresses", role], value: c.router.addresses[role] });
  for (const [i, h] of c.proxmox.hosts.entries())
    ips.push({ path: ["proxmox", "hosts", i, "address"], value: h.address });
  c.nodes.forEach((n, i) => {
    ips.push({ path: ["nodes", i, "addresses", "nodes"], value: n.addresses.nodes });
    ips.push({ path: ["nodes", i, "addresses", "storage"], value: n.addresses.storage });
  });
  return [
    ...duplicates(ips, "config.duplicate-ip", (v) => `address ${v}`),
    ...duplicates(
      c.nodes.map((n, i) => ({ path: ["nodes", i, "vmid"], value: n.vmid })),
      "config.duplicate-vmid",
      (v) => `vmid ${v}`,
    ),
    ...duplicates(
      [
        ...c.nodes.map((n, i) => ({ path: ["nodes", i, "name"] as PathSegment[], value: n.name })),
        ...c.proxmox.hosts.map((h, i) => ({ path: ["proxmox", "hosts", i, "name"] as PathSegment[], value: h.name })),
      ],
      "config.duplicate-name",
      (v) => `name ${v}`,
    ),
    ...duplicates(
      vlanRoles.map((role) => ({ path: ["network", "vlans", role, "id"], value: c.network.vlans[role].id })),
      "config.duplicate-vlan-id",
      (v) => `VLAN id ${v}`,
    ),
    ...duplicates(
      c.router.wireguard.peers.map((p, i) => ({
        path: ["router", "wireguard", "peers", i, "address"],
        value: p.address,
      })),
      "config.duplicate-ip",
      (v) => `address ${v}`,
    ),
  ];
}

function checkOverlappingCidrs(c: KtswConfig): SemanticProblem[] {
  const blocks: { path: PathSegment[]; label: string; cidr: string }[] = [
    ...vlanRoles.map((role) => ({
      path: ["network", "vlans", role, "cidr"],
      label: `VLAN ${c.network.vlans[role].id} ${role}`,
      cidr: c.network.vlans[role].cidr,
    })),
    { path: ["kubernetes", "podCidr"], label: "the pod CIDR", cidr: c.kubernetes.podCidr },
    { path: ["kubernetes", "serviceCidr"], label: "the service CIDR", cidr: c.kubernetes.serviceCidr },
    { path: ["router", "wireguard", "cidr"], label: "the WireGuard tunnel", cidr: c.router.wireguard.cidr },
    ...(c.router.wan
      ? [{ path: ["router", "wan", "network"], label: "the WAN network", cidr: c.router.wan.network }]
      : []),
  ];
  const problems: SemanticProblem[] = [];
  blocks.forEach((b, i) => {
    for (const earlier of blocks.slice(0, i)) {
      if (overlaps(parseCidr(b.cidr), parseCidr(earlier.cidr))) {
        problems.push({
          path: b.path,
          rule: "config.overlapping-cidr",
          message: `${b.cidr} (${b.label}) overlaps ${earlier.cidr} (${earlier.label})`,
        });
      }
    }
  });
  return problems;
}

function checkAsns(c: KtswConfig): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const privateRange = "64512-65534 or 4200000000-4294967294 (RFC 6996)";
  for (const [path, asn] of [
    [["router", "asn"], c.router.asn],
    [["kubernetes", "clusterAsn"], c.kubernetes.clusterAsn],
  ] as const) {
    if (!isPrivateAsn(asn)) {
      problems.push({
        path: [...path],
        rule: "config.private-asn",
        message: `ASN ${asn} is not private; use ${privateRange}`,
      });
    }
  }
  if (c.router.asn === c.kubernetes.clusterAsn) {
    problems.push({
      path: ["kubernetes", "clusterAsn"],
      rule: "config.ebgp-asn",
      message: `ASN ${c.kubernetes.clusterAsn} equals router.asn: the MetalLB↔router session is eBGP and needs two different ASNs`,
    });
  }
  return problems;
}

function checkQuorum(c: KtswConfig): SemanticProblem[] {
  const count = c.nodes.filter((n) => n.role === "control-plane").length;
  if (count === 0) {
    return [
      { path: ["nodes"], rule: "config.etcd-quorum", message: "no control-plane node: at least one is required" },
    ];
  }
  if (count % 2 === 0) {
    return [
      {
        path: ["nodes"],
        rule: "config.etcd-quorum",
        message: `${count} control-plane nodes: etcd needs an odd number (${count - 1} or ${count + 1}); an even count adds no fault tolerance`,
      },
    ];
  }
  return [];
}

function checkLoadBalancerPool(c: KtswConfig): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const publicVlan = c.network.vlans.public;
  const block = parseCidr(publicVlan.cidr);
  const pool: Range = parsePool(c.kubernetes.loadBalancerPool);
  const path = ["kubernetes", "loadBalancerPool"];
  if (!containsRange(block, pool)) {
    problems.push({
      path,
      rule: "config.lb-pool",
      message: `${c.kubernetes.loadBalancerPool} is not inside the public ${vlanLabel(c, "public")}`,
    });
  } else {
    const taken: [string, string][] = [
      [publicVlan.gateway, "the public VLAN's gateway"],
      [c.router.addresses.public, "the router's public address"],
    ];
    for (const [address, what] of taken) {
      if (contains(pool, address)) {
        problems.push({
          path,
          rule: "config.lb-pool",
          message: `${c.kubernetes.loadBalancerPool} contains ${address}, ${what}`,
        });
      }
    }
    if (pool.first === block.first || pool.last === block.last) {
      problems.push({
        path,
        rule: "config.lb-pool",
        message: `${c.kubernetes.loadBalancerPool} contains the network or broadcast address of ${publicVlan.cidr}`,
      });
    }
  }
  if (!contains(pool, c.kubernetes.ingressVip)) {
    problems.push({
      path: ["kubernetes", "ingressVip"],
      rule: "config.lb-pool",
      message: `${c.kubernetes.ingressVip} is not inside loadBalancerPool ${c.kubernetes.loadBalancerPool}`,
    });
  }
  return problems;
}

/** The API VIP lives in the nodes VLAN (kube-vip answers ARP for it there, so joining nodes reach it
 * on-link and the router reaches it like any node), on an address nothing else may ever take. A node
 * holding it twice, or MetalLB handing it to a Service, would split the API's traffic silently. */
function checkApiVip(c: KtswConfig): SemanticProblem[] {
  const vip = c.kubernetes.apiVip;
  const path = ["kubernetes", "apiVip"];
  const problem = (message: string) => [{ path, rule: "config.api-vip", message }];
  const nodes = c.network.vlans.nodes;
  const block = parseCidr(nodes.cidr);
  if (!contains(block, vip) || !isHostAddress(block, vip)) {
    return problem(
      `${vip} is not a host address of the nodes ${vlanLabel(c, "nodes")}: kube-vip announces the API VIP by ARP on that VLAN`,
    );
  }
  if (vip === nodes.gateway || vip === c.router.addresses.nodes) {
    return problem(`${vip} is the router's address on the nodes ${vlanLabel(c, "nodes")}; pick a free one`);
  }
  const node = c.nodes.find((n) => n.addresses.nodes === vip);
  if (node) return problem(`${vip} is ${node.name}'s own address; the API VIP must be a free address`);
  if (contains(parsePool(c.kubernetes.loadBalancerPool), vip)) {
    return problem(
      `${vip} is inside loadBalancerPool ${c.kubernetes.loadBalancerPool}: MetalLB could hand it to a Service`,
    );
  }
  return [];
}

function checkKubernetesAddresses(c: KtswConfig): SemanticProblem[] {
  const service = parseCidr(c.kubernetes.serviceCidr);
  if (!contains(service, c.kubernetes.clusterDns) || toNumber(c.kubernetes.clusterDns) === service.first) {
    return [
      {
        path: ["kubernetes", "clusterDns"],
        rule: "config.cluster-dns",
        message: `${c.kubernetes.clusterDns} is not a usable address inside serviceCidr ${c.kubernetes.serviceCidr}`,
      },
    ];
  }
  return [];
}

function checkNodes(c: KtswConfig): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const hosts = new Set(c.proxmox.hosts.map((h) => h.name));
  c.nodes.forEach((n, i) => {
    const min = minimumMemoryMiB[n.role];
    if (n.memory < min) {
      problems.push({
        path: ["nodes", i, "memory"],
        rule: "config.node-memory",
        message: `${n.memory} MiB is below the ${n.role} minimum of ${min} MiB`,
      });
    }
    if (!hosts.has(n.host)) {
      problems.push({
        path: ["nodes", i, "host"],
        rule: "config.unknown-host",
        message: `host ${n.host} is not one of proxmox.hosts (${[...hosts].join(", ")})`,
      });
    }
  });
  if (!hosts.has(c.proxmox.template.node)) {
    problems.push({
      path: ["proxmox", "template", "node"],
      rule: "config.unknown-host",
      message: `host ${c.proxmox.template.node} is not one of proxmox.hosts (${[...hosts].join(", ")})`,
    });
  }
  return problems;
}

function checkWireguard(c: KtswConfig): SemanticProblem[] {
  const block = parseCidr(c.router.wireguard.cidr);
  return c.router.wireguard.peers.flatMap((p, i) =>
    isHostAddress(block, p.address) && toNumber(p.address) !== block.first + 1
      ? []
      : [
          {
            path: ["router", "wireguard", "peers", i, "address"],
            rule: "config.address-in-vlan",
            message: `${p.address} is not a free host address of the WireGuard tunnel ${c.router.wireguard.cidr} (the router takes the first)`,
          },
        ],
  );
}

export function semanticProblems(config: KtswConfig): SemanticProblem[] {
  return [
    ...checkAddressesInVlans(config),
    ...checkDuplicates(config),
    ...checkOverlappingCidrs(config),
    ...checkAsns(config),
    ...checkQuorum(config),
    ...checkLoadBalancerPool(config),
    ...checkApiVip(config),
    ...checkKubernetesAddresses(config),
    ...checkNodes(config),
    ...checkWireguard(config),
  ];
}
