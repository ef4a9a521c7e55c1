// Renderer: the variables of the hand-written OpenTofu module in infrastructure/proxmox/, from
// ktsw.yaml. The module is the "how" (reviewed HCL); this file is the "what" (the site). It holds
// no secrets: the API token, the k3s join token and the state passphrase come from the
// environment (PROXMOX_VE_API_TOKEN, TF_VAR_k3s_token, TF_VAR_state_passphrase).

import { parseCidr } from "../../config/ipv4.ts";
import type { KtswConfig, KtswNode } from "../../config/schema.ts";

export const proxmoxDir = "infrastructure/proxmox";
export const tfvarsPath = `${proxmoxDir}/terraform.tfvars.json`;

export interface TfvarsNode {
  role: KtswNode["role"];
  host: string;
  vm_id: number;
  cores: number;
  memory_mib: number;
  disk_gib: number;
  /** CIDR notation, as Proxmox' ipconfig wants it. */
  nodes_address: string;
  storage_address: string;
}

function withPrefix(address: string, cidr: string): string {
  return `${address}/${parseCidr(cidr).prefix}`;
}

export function proxmoxTfvars(c: KtswConfig): Record<string, unknown> {
  const { vlans } = c.network;
  const nodes: Record<string, TfvarsNode> = {};
  for (const n of c.nodes) {
    nodes[n.name] = {
      role: n.role,
      host: n.host,
      vm_id: n.vmid,
      cores: n.cores,
      memory_mib: n.memory,
      disk_gib: n.disk,
      nodes_address: withPrefix(n.addresses.nodes, vlans.nodes.cidr),
      storage_address: withPrefix(n.addresses.storage, vlans.storage.cidr),
    };
  }
  return {
    proxmox_endpoint: c.proxmox.apiUrl,
    // PVE's certificate is signed by its own cluster CA, which no workstation trusts out of the box:
    // either that CA gets trusted (tls: verify) or the check is off, loudly (tls: insecure).
    proxmox_insecure: c.proxmox.tls === "insecure",
    // Snippet uploads go over SSH; naming each host's address spares the provider a guess.
    proxmox_hosts: Object.fromEntries(c.proxmox.hosts.map((h) => [h.name, h.address])),
    bridge: c.proxmox.bridge,
    template: { vm_id: c.proxmox.template.vmid, node_name: c.proxmox.template.node },
    datastores: {
      vm_disks: c.proxmox.storage.vmDisks,
      cloud_init: c.proxmox.storage.cloudInit,
      snippets: c.proxmox.storage.snippets,
    },
    vlans: { nodes: vlans.nodes.id, storage: vlans.storage.id },
    // Only the nodes VLAN has a default route; the storage VLAN is never routed.
    nodes_gateway: vlans.nodes.gateway,
    dns: { domain: c.site.domain, servers: [c.router.addresses.nodes] },
    ssh_user: c.ssh.user,
    nodes,
  };
}

export function renderProxmox(c: KtswConfig): Record<string, string> {
  return { [tfvarsPath]: `${JSON.stringify(proxmoxTfvars(c), null, 2)}\n` };
}
