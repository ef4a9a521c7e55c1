// cloud-init user-data for one VM: who may log in, what the OS needs for Kubernetes, the k3s config,
// and the first-boot k3s install. Networking is not here: Proxmox writes it into the cloud-init
// drive's network-config from the static addresses the OpenTofu module sets (ip_config).
import type { KtswConfig, KtswNode } from "../../config/schema.ts";
import { controlPlanePolicyFiles, policyFileContent } from "./control-plane-policies.ts";
import { hostFileContent, hostFiles, nodePackages, nodeServices } from "./host-os.ts";
import { installScript, installScriptPath } from "./install-script.ts";
import { fqdn, k3sConfig, k3sPaths, nodeTokenFiles } from "./k3s-config.ts";
import { kubeVipManifestPath, kubeVipPod } from "./kube-vip.ts";
import { yamlFile } from "./yaml-file.ts";

/** cloud-init 22.4's own schema (Debian 12 ships 22.4.2), for editors; `cloud-init schema` checks it in tests. */
export const cloudConfigSchemaUrl =
  "https://raw.githubusercontent.com/canonical/cloud-init/22.4.2/cloudinit/config/schemas/schema-cloud-config-v1.json";

export function k3sConfigFile(c: KtswConfig, node: KtswNode): string {
  // No schema line: k3s publishes no JSON Schema for its config file.
  return yamlFile(k3sConfig(c, node), [
    `# k3s configuration of ${node.name} (${node.role}); lands on the node as ${k3sPaths.config}.`,
  ]);
}

export function kubeVipManifestFile(c: KtswConfig): string {
  return yamlFile(kubeVipPod(c), [
    `# kube-vip: holds the API VIP ${c.kubernetes.apiVip} on one live control plane; lands on each as ${kubeVipManifestPath}.`,
  ]);
}

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
  owner?: string;
}

function writeFiles(c: KtswConfig, node: KtswNode): WriteFile[] {
  const files: WriteFile[] = hostFiles.map((f) => ({ path: f.path, content: hostFileContent(f), permissions: "0644" }));
  files.push({ path: k3sPaths.config, content: k3sConfigFile(c, node), permissions: "0600" });
  // Placeholders only; see token.ts for how the real tokens get here.
  for (const token of nodeTokenFiles(c, node)) {
    files.push({ path: token.path, content: token.content, permissions: "0600" });
  }
  if (node.role === "control-plane") {
    for (const policy of controlPlanePolicyFiles) {
      files.push({ path: policy.nodePath, content: policyFileContent(policy), permissions: "0600" });
    }
    // Before k3s starts: its kubelet runs the API VIP's holder from the first moment (kube-vip.ts).
    files.push({ path: kubeVipManifestPath, content: kubeVipManifestFile(c), permissions: "0600" });
  }
  files.push({ path: installScriptPath, content: installScript(c, node), permissions: "0750" });
  return files.map((f) => ({ ...f, owner: "root:root" }));
}

export function userData(c: KtswConfig, node: KtswNode): Record<string, unknown> {
  return {
    hostname: node.name,
    fqdn: fqdn(c, node),
    prefer_fqdn_over_hostname: false,
    manage_etc_hosts: true,
    timezone: c.site.timezone,
    // One named admin with keys only; the image's default user is not created ("default" absent).
    users: [
      {
        name: c.ssh.user,
        gecos: "KTSW operator",
        groups: ["sudo"],
        shell: "/bin/bash",
        lock_passwd: true, // no password exists, so none can be guessed …
        sudo: "ALL=(ALL) NOPASSWD:ALL", // … and sudo cannot ask for one
        ssh_authorized_keys: [...c.ssh.authorizedKeys],
      },
    ],
    ssh_pwauth: false,
    disable_root: true,
    package_update: true,
    packages: [...nodePackages],
    write_files: writeFiles(c, node),
    // runcmd runs last, after packages are installed and write_files has placed everything. The
    // guest agent has no [Install] section (udev starts it on later boots), so start it once now;
    // the node's services run before k3s, whose pods (Longhorn's manager) expect them.
    runcmd: [
      "systemctl start qemu-guest-agent",
      ...nodeServices.map((s) => `systemctl enable --now ${s.unit}`),
      installScriptPath,
    ],
  };
}

export function userDataFile(c: KtswConfig, node: KtswNode): string {
  // `#cloud-config` must be the very first line or cloud-init ignores the file; the editor schema
  // comment follows it (yaml-language-server reads the directive from any top comment).
  return yamlFile(userData(c, node), ["#cloud-config", `# yaml-language-server: $schema=${cloudConfigSchemaUrl}`]);
}
