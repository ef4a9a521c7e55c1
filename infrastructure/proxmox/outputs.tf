output "nodes" {
  description = "Each node's VM id, Proxmox host and address on the nodes VLAN."
  value = {
    for name, vm in proxmox_virtual_environment_vm.node : name => {
      vm_id   = vm.vm_id
      host    = vm.node_name
      address = split("/", var.nodes[name].nodes_address)[0]
    }
  }
}

output "ssh" {
  description = "How to log in to each node (keys from ktsw.yaml's ssh.authorizedKeys)."
  value       = { for name, n in var.nodes : name => "ssh ${var.ssh_user}@${split("/", n.nodes_address)[0]}" }
}
