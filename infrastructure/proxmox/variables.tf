# Site values come from terraform.tfvars.json, which `ktsw render` writes from ktsw.yaml (never edit
# it by hand). Secrets have no default and are never in a file: they come from the environment.

variable "proxmox_endpoint" {
  description = "Proxmox VE API URL, e.g. https://10.10.0.11:8006/ (the API token comes from PROXMOX_VE_API_TOKEN)."
  type        = string
}

variable "proxmox_insecure" {
  description = "Skip TLS verification of the Proxmox API (ktsw.yaml proxmox.tls: insecure). Off by default: trust PVE's CA instead (see README.md)."
  type        = bool
}

variable "proxmox_hosts" {
  description = "Proxmox host name => management address; the provider uploads snippets to each over SSH."
  type        = map(string)
}

variable "bridge" {
  description = "VLAN-aware Linux bridge every VM NIC hangs off."
  type        = string
}

variable "template" {
  description = "The cloud-init-ready VM template every node is cloned from."
  type = object({
    vm_id     = number
    node_name = string
  })
}

variable "datastores" {
  description = "Proxmox storage ids: ZFS pool for disks, storage for the cloud-init drive, storage with the 'snippets' content type."
  type = object({
    vm_disks   = string
    cloud_init = string
    snippets   = string
  })
}

variable "vlans" {
  description = "802.1Q tags of the two networks each node joins."
  type = object({
    nodes   = number
    storage = number
  })
}

variable "nodes_gateway" {
  description = "Default gateway on the nodes VLAN (the router); the storage VLAN has none."
  type        = string
}

variable "dns" {
  description = "Search domain and resolvers written into each node's network config."
  type = object({
    domain  = string
    servers = list(string)
  })
}

variable "ssh_user" {
  description = "The admin user cloud-init creates (used in the outputs' ssh hints)."
  type        = string
}

variable "nodes" {
  description = "One VM per Kubernetes node, keyed by node name."
  type = map(object({
    role            = string
    host            = string
    vm_id           = number
    cores           = number
    memory_mib      = number
    disk_gib        = number
    nodes_address   = string
    storage_address = string
  }))

  validation {
    condition     = alltrue([for n in values(var.nodes) : contains(["control-plane", "worker"], n.role)])
    error_message = "Every node's role must be control-plane or worker."
  }
}

variable "k3s_token" {
  description = "k3s server token (full admin of the cluster; servers only), e.g. `openssl rand -hex 32`. Set TF_VAR_k3s_token; never commit it."
  type        = string
  sensitive   = true

  validation {
    # Letters and digits only, so it can replace the placeholder inside YAML without quoting.
    condition     = can(regex("^[A-Za-z0-9]{32,}$", var.k3s_token))
    error_message = "k3s_token must be at least 32 letters or digits (e.g. `openssl rand -hex 32`)."
  }
}

variable "k3s_agent_token" {
  description = "k3s agent token, the only one workers hold (it joins agents, nothing else), e.g. `openssl rand -hex 32`. Set TF_VAR_k3s_agent_token; never commit it."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[A-Za-z0-9]{32,}$", var.k3s_agent_token))
    error_message = "k3s_agent_token must be at least 32 letters or digits (e.g. `openssl rand -hex 32`)."
  }
}

variable "state_passphrase" {
  description = "Passphrase the state and plan files are encrypted with. Set TF_VAR_state_passphrase; keep it in your password manager."
  type        = string
  sensitive   = true
}
