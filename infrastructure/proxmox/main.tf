# One Proxmox VM per Kubernetes node, cloned from the cloud-init template, with two tagged NICs and
# the node's rendered user-data. Everything site-specific comes from terraform.tfvars.json.
#
# Credentials, from the environment only:
#   PROXMOX_VE_API_TOKEN     user@realm!tokenid=secret (API calls)
#   PROXMOX_VE_SSH_USERNAME  PAM user for the snippet upload over SSH (keys from your ssh-agent)
#   TF_VAR_k3s_token         the k3s server token: servers only (see ../nodes/README.md)
#   TF_VAR_k3s_agent_token   the k3s agent token: what workers join with
#   TF_VAR_state_passphrase  encrypts the state (see versions.tf)

provider "proxmox" {
  endpoint = var.proxmox_endpoint
  # PVE's certificate is signed by the cluster's own CA (/etc/pve/pve-root-ca.pem), which the
  # provider only accepts once the workstation trusts it (README.md); `insecure` skips the check.
  insecure = var.proxmox_insecure

  # Uploading snippets is not in the Proxmox API: the provider copies them over SSH.
  ssh {
    agent = true

    dynamic "node" {
      for_each = var.proxmox_hosts
      content {
        name    = node.key
        address = node.value
      }
    }
  }
}

# A failed check is a warning on every plan and apply, not an error: the run goes on, but nobody
# runs with verification off without being told each time.
check "proxmox_tls" {
  assert {
    condition     = !var.proxmox_insecure
    error_message = "TLS verification of the Proxmox API is OFF (proxmox.tls: insecure in ktsw.yaml): whoever sits between you and ${var.proxmox_endpoint} can read the API token and the uploaded user-data with the k3s tokens. Trust PVE's CA instead and set proxmox.tls: verify (infrastructure/proxmox/README.md)."
  }
}

locals {
  # Must match the placeholders `ktsw render` writes into the user-data files.
  k3s_token_placeholder       = "__KTSW_K3S_TOKEN__"
  k3s_agent_token_placeholder = "__KTSW_K3S_AGENT_TOKEN__"
}

# The user-data each VM boots with, as a snippet on the host that runs the VM. The rendered file is
# committed with placeholders; the tokens are substituted here so they never touch Git. A worker's
# file has only the agent placeholder, so the server token never reaches a worker.
resource "proxmox_virtual_environment_file" "user_data" {
  for_each = var.nodes

  content_type = "snippets"
  datastore_id = var.datastores.snippets
  node_name    = each.value.host

  source_raw {
    file_name = "ktsw-${each.key}-user-data.yaml"
    data = replace(
      replace(
        file("${path.module}/../nodes/${each.key}/user-data.yaml"),
        local.k3s_token_placeholder,
        var.k3s_token,
      ),
      local.k3s_agent_token_placeholder,
      var.k3s_agent_token,
    )
  }

  lifecycle {
    precondition {
      # The same value twice would hand workers the server token after all.
      condition     = var.k3s_agent_token != var.k3s_token
      error_message = "k3s_agent_token must differ from k3s_token: workers hold the agent token, and the server token is full admin of the cluster."
    }
  }
}

resource "proxmox_virtual_environment_vm" "node" {
  for_each = var.nodes

  name        = each.key
  description = "Kubernetes ${each.value.role} node, managed by OpenTofu from ktsw.yaml"
  tags        = ["ktsw", each.value.role]
  node_name   = each.value.host
  vm_id       = each.value.vm_id
  on_boot     = true
  started     = true

  clone {
    vm_id     = var.template.vm_id
    node_name = var.template.node_name
    full      = true
    # Cloning across hosts with local ZFS goes clone-then-migrate; this names the target storage.
    datastore_id = var.datastores.vm_disks
  }

  # The guest agent (installed by cloud-init) reports addresses and handles clean shutdowns.
  agent {
    enabled = true
  }

  cpu {
    cores = each.value.cores
    # A named baseline instead of "host" keeps live migration between unlike CPUs possible.
    type = "x86-64-v2-AES"
  }

  memory {
    # No ballooning (floating = 0): the kubelet plans with the memory it sees at start.
    dedicated = each.value.memory_mib
  }

  scsi_hardware = "virtio-scsi-single"

  disk {
    datastore_id = var.datastores.vm_disks
    interface    = "scsi0"
    size         = each.value.disk_gib
    discard      = "on" # ZFS gets freed blocks back
    iothread     = true
    ssd          = true
  }

  # net0: Kubernetes traffic and BGP to the router.
  network_device {
    bridge  = var.bridge
    vlan_id = var.vlans.nodes
    model   = "virtio"
  }

  # net1: Longhorn replication; isolated, never routed.
  network_device {
    bridge  = var.bridge
    vlan_id = var.vlans.storage
    model   = "virtio"
  }

  initialization {
    datastore_id = var.datastores.cloud_init

    dns {
      domain  = var.dns.domain
      servers = var.dns.servers
    }

    # ip_config blocks pair with network_device blocks in order: net0, then net1.
    ip_config {
      ipv4 {
        address = each.value.nodes_address
        gateway = var.nodes_gateway
      }
    }

    ip_config {
      ipv4 {
        address = each.value.storage_address
      }
    }

    user_data_file_id = proxmox_virtual_environment_file.user_data[each.key].id
  }

  operating_system {
    type = "l26"
  }
}
