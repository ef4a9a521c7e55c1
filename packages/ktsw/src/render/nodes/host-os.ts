// What the guest OS must provide before k3s starts: kernel settings and modules. k3s deliberately
// never changes the host (CIS hardening guide, "Host-level Requirements"), so ktsw does, in files
// a person can read on the node under /etc/sysctl.d and /etc/modules-load.d.

export interface HostFile {
  path: string;
  /** Each entry becomes one line, preceded by its reason as a comment. */
  entries: { line: string; why: string }[];
}

/** kubelet's --protect-kernel-defaults makes it exit unless these hold (k3s CIS hardening guide). */
export const kubeletSysctls: HostFile = {
  path: "/etc/sysctl.d/90-kubelet.conf",
  entries: [
    { line: "vm.panic_on_oom=0", why: "let the OOM killer pick a process instead of panicking the node" },
    { line: "vm.overcommit_memory=1", why: "kubelet's default: allocations are not refused up front" },
    { line: "kernel.panic=10", why: "reboot 10 s after a panic instead of hanging forever" },
    { line: "kernel.panic_on_oops=1", why: "an oops leaves the kernel untrustworthy: panic, then reboot" },
  ],
};

/** Cilium's eBPF datapath (no kube-proxy, no flannel). The file sorts after systemd's
 * 50-default.conf, which sets rp_filter=2 on every interface and silently drops pod traffic that
 * Cilium routes asymmetrically (cilium/cilium#10645). */
export const ciliumSysctls: HostFile = {
  path: "/etc/sysctl.d/99-ktsw-cilium.conf",
  entries: [
    { line: "net.ipv4.ip_forward=1", why: "nodes route pod traffic" },
    { line: "net.ipv4.conf.all.rp_filter=0", why: "no reverse-path filter: Cilium routes asymmetrically" },
    { line: "net.ipv4.conf.default.rp_filter=0", why: "the same for interfaces created later (lxc*, cilium_*)" },
    { line: "net.ipv4.conf.*.rp_filter=0", why: "and for interfaces that exist already" },
    { line: "net.core.bpf_jit_enable=1", why: "compile eBPF programs to native code (interpreting is slow)" },
    { line: "fs.inotify.max_user_instances=8192", why: "every pod's log tailing and config reloaders use inotify" },
    { line: "fs.inotify.max_user_watches=524288", why: "the distro default (8192) runs out with a few dozen pods" },
  ],
};

/** Loaded at every boot. br_netfilter is deliberately absent: it exists so iptables sees bridged
 * traffic, which only kube-proxy and bridge CNIs need; Cilium handles Services in eBPF. */
export const kernelModules: HostFile = {
  path: "/etc/modules-load.d/ktsw.conf",
  entries: [
    { line: "overlay", why: "containerd's overlayfs snapshotter" },
    { line: "ip_tables", why: "Cilium still installs a few iptables rules (e.g. for its L7 proxy)" },
    { line: "iptable_nat", why: "Cilium's iptables masquerading fallback" },
    { line: "iptable_mangle", why: "Cilium marks proxy-bound packets" },
    { line: "iptable_raw", why: "Cilium skips conntrack for its own traffic" },
    { line: "iptable_filter", why: "Cilium's filter chains" },
    { line: "xt_socket", why: "Cilium's L7 proxy (transparent socket lookup); not auto-loaded" },
    { line: "iscsi_tcp", why: "Longhorn attaches volumes over iSCSI" },
  ],
};

/** systemd units enabled and started on first boot, before k3s is installed. */
export const nodeServices: readonly { unit: string; why: string }[] = [
  // Longhorn's manager checks that iscsid runs before it lets the node hold volumes; Debian only
  // starts it on demand through its socket.
  { unit: "iscsid.service", why: "Longhorn attaches volumes through the iSCSI daemon" },
];

export const hostFiles: readonly HostFile[] = [kubeletSysctls, ciliumSysctls, kernelModules];

export function hostFileContent(file: HostFile): string {
  return `${file.entries.map((e) => `# ${e.why}\n${e.line}\n`).join("")}`;
}

/** Debian/Ubuntu packages every node installs on first boot. */
export const nodePackages: readonly string[] = [
  "ca-certificates", // TLS for the k3s download
  "curl", // the k3s installer downloads with it
  "nfs-common", // Longhorn's NFS client: ReadWriteMany volumes and NFS backup targets
  "open-iscsi", // Longhorn's iSCSI initiator (iscsiadm, iscsid)
  "qemu-guest-agent", // Proxmox (and OpenTofu) learn the VM's addresses and shut it down cleanly
];
