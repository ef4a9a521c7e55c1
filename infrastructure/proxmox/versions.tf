# Which OpenTofu and which provider this module was written against, pinned exactly: a provider
# upgrade is a reviewed change of this line, never a surprise on the next `tofu init`.
terraform {
  # State encryption with variables in the encryption block needs OpenTofu 1.8 or newer.
  required_version = ">= 1.8.0, < 2.0.0"

  required_providers {
    proxmox = {
      source  = "bpg/proxmox"
      version = "0.111.1"
    }
  }

  # The state holds the user-data snippets, and so the k3s join tokens: encrypt it at rest with a
  # key derived from a passphrase that lives only in the operator's environment
  # (TF_VAR_state_passphrase). Losing the passphrase means losing the state, not the VMs.
  encryption {
    key_provider "pbkdf2" "passphrase" {
      passphrase = var.state_passphrase
    }
    method "aes_gcm" "state" {
      keys = key_provider.pbkdf2.passphrase
    }
    state {
      method   = method.aes_gcm.state
      enforced = true
    }
    plan {
      method   = method.aes_gcm.state
      enforced = true
    }
  }
}
