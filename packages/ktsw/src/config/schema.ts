// The one config file, ktsw.yaml, as a strict zod schema. Shape only: cross-field rules (an address
// inside its VLAN, unique vmids, ...) live in semantics.ts so each gets its own precise message.
// Every object is strict: an unknown key is almost always a typo, and a typo silently ignored is
// how a homelab ends up with the default of something its owner thought they had set.
import { z } from "zod";
import { firewallSchema } from "../network/firewall-schema.ts";
import { isCidr, isIPv4, isNetworkAddress, isPool } from "./ipv4.ts";

const ipv4 = z.string().refine(isIPv4, { message: "must be an IPv4 address like 10.20.0.11" });
const cidr = z
  .string()
  .refine(isCidr, { message: "must be an IPv4 CIDR like 10.20.0.0/24" })
  .refine((v) => !isCidr(v) || isNetworkAddress(v), {
    message: "must start at its network address (host bits set — did you mean the block's first address?)",
  });
const hostname = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a DNS label: lower-case letters, digits and '-'");
const domain = z
  .string()
  .regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$/, "must be a DNS domain like lab.home.arpa");
const asn = z.number().int().min(1).max(4294967295).describe("BGP autonomous system number");
const port = z.number().int().min(1).max(65535);

const vlan = z
  .object({
    name: hostname.optional().describe("Interface/zone name; defaults to the role key"),
    id: z.number().int().min(1).max(4094).describe("802.1Q VLAN id"),
    cidr,
    gateway: ipv4,
  })
  .strict();

export const vlanRoles = ["mgmt", "nodes", "storage", "public"] as const;
export type VlanRole = (typeof vlanRoles)[number];

const wireguardPeer = z
  .object({
    name: hostname,
    publicKey: z
      .string()
      .regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/, "must be a WireGuard public key (base64, 44 chars)"),
    address: ipv4.describe("Tunnel address of the peer"),
  })
  .strict();

const router = z
  .object({
    kind: z.enum(["opnsense", "pfsense"]),
    hostname: hostname.default("router"),
    asn,
    addresses: z.object({ mgmt: ipv4, nodes: ipv4, storage: ipv4, public: ipv4 }).strict(),
    dns: z
      .object({
        upstreams: z.array(ipv4).min(1),
        localZone: domain.optional().describe("Defaults to site.domain"),
      })
      .strict(),
    wireguard: z
      .object({
        enabled: z.boolean().default(true),
        port: port.default(51820),
        cidr: cidr.describe("Tunnel network; the router takes its first host address"),
        peers: z.array(wireguardPeer).default([]),
      })
      .strict(),
    wan: z
      .object({
        network: cidr.describe("The network the router's WAN port is in, e.g. your household router's 192.168.1.0/24"),
        address: ipv4.describe("The router's WAN address there: household clients route the VIP VLAN through it"),
      })
      .strict()
      .optional()
      .describe(
        "Set when the WAN sits in a household network: the router README then gives the exact steps for its clients (OPNsense's 'Block private networks' and their route to the VIP VLAN)",
      ),
    firewall: firewallSchema.describe("Zones and allowed flows; everything else is denied"),
  })
  .strict();

const proxmox = z
  .object({
    apiUrl: z.url({ protocol: /^https$/, message: "must be an https URL like https://pve1.lab.home.arpa:8006/" }),
    bridge: z.string().regex(/^vmbr\d+$/, "must be a Proxmox bridge name like vmbr0"),
    template: z
      .object({ vmid: z.number().int().min(100), node: hostname.describe("Proxmox host holding the template") })
      .strict()
      .describe("The cloud-init-ready VM template every node is cloned from"),
    storage: z
      .object({
        vmDisks: z.string().min(1).describe("ZFS pool (Proxmox storage id) for VM disks"),
        cloudInit: z.string().min(1).describe("Storage id for the cloud-init drive"),
        snippets: z.string().min(1).default("local").describe("Storage id with the 'snippets' content type"),
      })
      .strict(),
    hosts: z.array(z.object({ name: hostname, address: ipv4.describe("Address on the mgmt VLAN") }).strict()).min(1),
    tls: z
      .enum(["verify", "insecure"])
      .default("verify")
      .describe(
        "How OpenTofu trusts the API's certificate: verify (a trusted certificate, or PVE's own CA trusted on your workstation) or insecure (no check, warned at every plan); infrastructure/proxmox/README.md",
      ),
  })
  .strict();

export const nodeRoles = ["control-plane", "worker"] as const;
export type NodeRole = (typeof nodeRoles)[number];

const node = z
  .object({
    name: hostname,
    role: z.enum(nodeRoles),
    host: hostname.describe("Name of the Proxmox host this VM runs on"),
    vmid: z.number().int().min(100).max(999999999),
    cores: z.number().int().min(1).max(128),
    memory: z.number().int().min(512).describe("MiB"),
    disk: z.number().int().min(8).describe("GiB"),
    addresses: z.object({ nodes: ipv4, storage: ipv4 }).strict(),
  })
  .strict();

const kubernetes = z
  .object({
    k3sVersion: z
      .string()
      .regex(/^v\d+\.\d+\.\d+\+k3s\d+$/, "must be a pinned k3s release like v1.33.5+k3s1 (no channels, no 'latest')"),
    podCidr: cidr,
    serviceCidr: cidr,
    clusterDns: ipv4.describe("Inside serviceCidr"),
    clusterAsn: asn,
    loadBalancerPool: z
      .string()
      .refine(isPool, { message: "must be a CIDR or a range like 10.40.0.100-10.40.0.199" })
      .describe("VIPs MetalLB may hand out; inside the public VLAN"),
    ingressVip: ipv4.describe("The VIP Traefik takes; inside loadBalancerPool"),
    apiVip: ipv4.describe(
      "The Kubernetes API's virtual address: a free host address of the nodes VLAN, outside loadBalancerPool, that kube-vip moves to a live control plane (ARP). Cilium, every join and the kubeconfig use it (infrastructure/nodes/README.md)",
    ),
    apiEndpoint: z
      .string()
      .optional()
      .describe(
        "An extra DNS name for the API (e.g. one Unbound resolves to apiVip), added to every server certificate",
      ),
    clusterCaHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "must be the 64 hex digits between K10 and :: in the first server's token file")
      .optional()
      .describe(
        "SHA-256 of the cluster's CA, known once the first server has started; set it then: joins verify the CA (k3s' secure K10 token) and no server bootstraps etcd again (infrastructure/nodes/README.md)",
      ),
    bfd: z
      .object({
        enabled: z.boolean().default(true),
        receiveIntervalMs: z.number().int().min(10).max(60000).default(300),
        transmitIntervalMs: z.number().int().min(10).max(60000).default(300),
        detectMultiplier: z.number().int().min(2).max(255).default(3),
      })
      .strict()
      .default({ enabled: true, receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 }),
  })
  .strict();

export const configSchema = z
  .object({
    site: z
      .object({
        name: hostname,
        domain,
        timezone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, "must be an IANA timezone like Europe/Berlin"),
      })
      .strict(),
    ssh: z
      .object({
        user: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]{0,31}$/)
          .default("ktsw"),
        authorizedKeys: z
          .array(z.string().regex(/^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) \S+/, "must be an OpenSSH public key"))
          .min(1),
      })
      .strict(),
    network: z.object({ vlans: z.object({ mgmt: vlan, nodes: vlan, storage: vlan, public: vlan }).strict() }).strict(),
    router,
    proxmox,
    nodes: z.array(node).min(1),
    kubernetes,
    gitops: z
      .object({
        repository: z.string().regex(/^(https:\/\/|ssh:\/\/)\S+$/, "must be an https:// or ssh:// Git URL"),
        branch: z.string().min(1).default("main"),
        path: z.string().regex(/^\.\/\S*$/, "must be a repository-relative path starting with ./"),
      })
      .strict(),
    secrets: z
      .object({
        ageRecipients: z
          .array(z.string().regex(/^age1[02-9ac-hj-np-z]{58}$/, "must be an age public key (age1…)"))
          .min(1),
      })
      .strict(),
  })
  .strict();

export type KtswConfig = z.output<typeof configSchema>;
export type KtswNode = KtswConfig["nodes"][number];

/** JSON Schema for editors (`# yaml-language-server: $schema=`); generated, never hand-edited. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: "input", target: "draft-7" }) as Record<string, unknown>;
}
