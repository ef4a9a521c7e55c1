// The first-boot script that installs k3s. It is a file on the node (not inline runcmd lines) so it
// runs with `set -eu` — cloud-init's runcmd carries on after a failing line — and so an operator
// can run it again by hand after fixing whatever stopped it.
import type { KtswConfig, KtswNode } from "../../config/schema.ts";
import { k3sPaths, nodeTokenFiles } from "./k3s-config.ts";

export const installScriptPath = "/usr/local/sbin/ktsw-install-k3s";

/** The upstream installer at the git tag of the pinned release: the script is as fixed as the
 * binary it installs (get.k3s.io always serves the newest script). It then downloads that exact
 * release from GitHub and checks it against the release's published sha256sums. */
export function k3sInstallerUrl(version: string): string {
  return `https://raw.githubusercontent.com/k3s-io/k3s/${encodeURIComponent(version)}/install.sh`;
}

/** 'abc''def': the same string to sh, but not the same bytes to a search-and-replace. */
function splitForShell(text: string): string {
  const middle = Math.floor(text.length / 2);
  return `'${text.slice(0, middle)}''${text.slice(middle)}'`;
}

export function k3sExec(node: KtswNode): "server" | "agent" {
  return node.role === "control-plane" ? "server" : "agent";
}

export function installScript(c: KtswConfig, node: KtswNode): string {
  const version = c.kubernetes.k3sVersion;
  return [
    "#!/bin/sh",
    `# Installs k3s ${version} as a ${k3sExec(node)} on ${node.name}. Rendered by \`ktsw render\`.`,
    "set -eu",
    // Every token file the node needs, each with the placeholder it must no longer hold. The
    // placeholder is spelled in two quoted halves: the literal may appear only in the token file,
    // or substituting the real token (OpenTofu's replace()) would rewrite this check too.
    ...nodeTokenFiles(c, node).flatMap((t) => [
      `token=${t.path}`,
      `placeholder=${splitForShell(t.placeholder)}`,
      'if [ ! -s "$token" ] || grep -qF "$placeholder" "$token"; then',
      '  echo "ktsw: no k3s token in $token yet. Write it there (see infrastructure/nodes/README.md), then run $0 again." >&2',
      "  exit 1",
      "fi",
      'chmod 0600 "$token"',
    ]),
    // protect-kernel-defaults: kubelet exits if these are not live yet.
    "sysctl --system >/dev/null",
    "systemctl restart systemd-modules-load.service",
    ...(node.role === "control-plane" ? [`install -d -m 0700 ${k3sPaths.auditLogDir}`] : []),
    // Download to a file first: a download cut short must not execute half a script.
    'installer="$(mktemp)"',
    `curl -sfL --retry 5 -o "$installer" '${k3sInstallerUrl(version)}'`,
    `INSTALL_K3S_VERSION='${version}' INSTALL_K3S_EXEC='${k3sExec(node)}' sh "$installer"`,
    'rm -f "$installer"',
    "",
  ].join("\n");
}
