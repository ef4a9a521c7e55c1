// `ktsw plan`: the site explained as Markdown — what a person checks before touching hardware.
// Pure, so tests read the tables as text and the README can embed the same output.
import { parsePool, rangeSize } from "../config/ipv4.ts";
import { type KtswConfig, vlanRoles } from "../config/schema.ts";

/** A Markdown table; the capacity section prints its tables with it too. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function vlanPlan(c: KtswConfig): string {
  const rows: string[][] = vlanRoles.map((role) => {
    const v = c.network.vlans[role];
    const members =
      role === "mgmt"
        ? c.proxmox.hosts.map((h) => `${h.name} ${h.address}`)
        : role === "nodes"
          ? [...c.nodes.map((n) => `${n.name} ${n.addresses.nodes}`), `API VIP ${c.kubernetes.apiVip} (kube-vip)`]
          : role === "storage"
            ? c.nodes.map((n) => `${n.name} ${n.addresses.storage}`)
            : [`VIP pool ${c.kubernetes.loadBalancerPool}`, `ingress ${c.kubernetes.ingressVip}`];
    return [
      String(v.id),
      v.name ?? role,
      v.cidr,
      v.gateway,
      `${c.router.hostname} ${c.router.addresses[role]}`,
      members.join("<br>"),
    ];
  });
  return table(["VLAN", "name", "CIDR", "gateway", "router", "members"], rows);
}

function vmPlan(c: KtswConfig): string {
  return c.proxmox.hosts
    .map((host) => {
      const vms = c.nodes.filter((n) => n.host === host.name);
      const rows = vms.map((n) => [
        String(n.vmid),
        n.name,
        n.role,
        String(n.cores),
        `${(n.memory / 1024).toFixed(1)} GiB`,
        `${n.disk} GiB`,
        n.addresses.nodes,
        n.addresses.storage,
      ]);
      const sum = (f: (n: (typeof vms)[number]) => number) => vms.reduce((acc, n) => acc + f(n), 0);
      rows.push([
        "",
        `**total (${vms.length} VMs)**`,
        "",
        `**${sum((n) => n.cores)}**`,
        `**${(sum((n) => n.memory) / 1024).toFixed(1)} GiB**`,
        `**${sum((n) => n.disk)} GiB**`,
        "",
        "",
      ]);
      const header = ["vmid", "name", "role", "cores", "memory", "disk", "nodes VLAN", "storage VLAN"];
      return `### ${host.name} (${host.address})\n\n${table(header, rows)}`;
    })
    .join("\n\n");
}

function bgpPlan(c: KtswConfig): string {
  const bfd = c.kubernetes.bfd;
  const bfdText = bfd.enabled
    ? `BFD ${bfd.transmitIntervalMs}/${bfd.receiveIntervalMs} ms × ${bfd.detectMultiplier} (detect ≈ ${bfd.receiveIntervalMs * bfd.detectMultiplier} ms)`
    : "no BFD";
  const rows = c.nodes.map((n) => [
    `${n.name} ${n.addresses.nodes}`,
    `AS${c.kubernetes.clusterAsn}`,
    `${c.router.hostname} ${c.router.addresses.nodes}`,
    `AS${c.router.asn}`,
    bfdText,
  ]);
  return table(["speaker (MetalLB)", "ASN", "peer", "peer ASN", "failure detection"], rows);
}

function topology(c: KtswConfig): string {
  const v = c.network.vlans;
  const lines = [
    "```mermaid",
    "flowchart TB",
    `  wan((Internet)) --- router[${c.router.kind} ${c.router.hostname}<br>AS${c.router.asn}]`,
    `  wg[WireGuard ${c.router.wireguard.cidr}] --- router`,
    `  router --- mgmt[VLAN ${v.mgmt.id} mgmt<br>${v.mgmt.cidr}]`,
    `  router --- nodes[VLAN ${v.nodes.id} nodes<br>${v.nodes.cidr}]`,
    `  router --- public[VLAN ${v.public.id} public VIPs<br>${c.kubernetes.loadBalancerPool}]`,
    `  storage[VLAN ${v.storage.id} storage<br>${v.storage.cidr}<br>not routed]`,
  ];
  for (const h of c.proxmox.hosts) {
    lines.push(`  mgmt --- ${h.name}[Proxmox ${h.name}<br>${h.address}]`);
    for (const n of c.nodes.filter((node) => node.host === h.name)) {
      lines.push(`  ${h.name} --> ${n.name}(${n.name}<br>${n.role})`);
      lines.push(`  ${n.name} --- nodes`, `  ${n.name} -.- storage`);
      lines.push(`  ${n.name} -. "BGP AS${c.kubernetes.clusterAsn}" .-> router`);
    }
  }
  lines.push("```");
  return lines.join("\n");
}

export function renderPlan(c: KtswConfig): string {
  const pool = parsePool(c.kubernetes.loadBalancerPool);
  const cp = c.nodes.filter((n) => n.role === "control-plane").length;
  return [
    `# ${c.site.name} (${c.site.domain})`,
    "",
    `${c.nodes.length} VMs (${cp} control-plane, ${c.nodes.length - cp} workers) on ${c.proxmox.hosts.length} Proxmox hosts, k3s ${c.kubernetes.k3sVersion}.`,
    "",
    "## VLAN / IP plan",
    "",
    vlanPlan(c),
    "",
    "## VMs per Proxmox host",
    "",
    vmPlan(c),
    "",
    "## BGP sessions",
    "",
    bgpPlan(c),
    "",
    `## VIP pool\n\n${c.kubernetes.loadBalancerPool} (${rangeSize(pool)} addresses), ingress VIP ${c.kubernetes.ingressVip}; pods ${c.kubernetes.podCidr}, services ${c.kubernetes.serviceCidr}, cluster DNS ${c.kubernetes.clusterDns}.`,
    "",
    "## Topology",
    "",
    topology(c),
    "",
  ].join("\n");
}
