// The k3s join token is a secret shared by every node; it must never be committed. The rendered
// user-data carries this placeholder instead. Two ways to fill it, both documented in
// infrastructure/nodes/README.md:
//  1. the OpenTofu module replaces it from the sensitive variable `k3s_token` (TF_VAR_k3s_token)
//     when it uploads the user-data snippet to Proxmox, or
//  2. the operator writes the token to /etc/rancher/k3s/token over SSH and re-runs the installer.
// The installer refuses to run while the placeholder is still there, so a forgotten step fails
// loudly on the node instead of bootstrapping a cluster with a guessable token.
export const k3sTokenPlaceholder = "__KTSW_K3S_TOKEN__";
