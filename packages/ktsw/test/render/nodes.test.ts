// The node renderer as pure functions: config in, files out, parsed back into objects and checked
// against the config they came from.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import type { KtswConfig, KtswNode } from "../../src/config/index.ts";
import { kubeApiHost } from "../../src/render/cluster-settings.ts";
import { admissionConfig, auditPolicy } from "../../src/render/nodes/control-plane-policies.ts";
import { hostFileContent, hostFiles, kernelModules, kubeletSysctls } from "../../src/render/nodes/host-os.ts";
import { k3sConfigPath, renderNodes, userDataPath } from "../../src/render/nodes/index.ts";
import { installScriptPath, k3sInstallerUrl } from "../../src/render/nodes/install-script.ts";
import { k3sPaths, nodeTokenFiles } from "../../src/render/nodes/k3s-config.ts";
import { kubeVipManifestPath } from "../../src/render/nodes/kube-vip.ts";
import { k3sAgentTokenPlaceholder, k3sTokenPlaceholder, secureToken } from "../../src/render/nodes/token.ts";
import { ensureBuiltinSchemas } from "../../src/validate/builtin-schemas.ts";
import { defaultSchemaSources } from "../../src/validate/index.ts";
import { SchemaStore } from "../../src/validate/schemas.ts";
import { allValidConfigs, exampleConfig } from "./support.ts";

type K3s = Record<string, unknown>;
interface WriteFile {
  path: string;
  content: string;
  permissions: string;
}
interface UserData {
  hostname: string;
  fqdn: string;
  timezone: string;
  users: { name: string; lock_passwd: boolean; ssh_authorized_keys: string[] }[];
  ssh_pwauth: boolean;
  write_files: WriteFile[];
  packages: string[];
  runcmd: string[];
}

function rendered(c: KtswConfig) {
  const files = renderNodes(c);
  const text = (path: string) => {
    const content = files[path];
    if (content === undefined) throw new Error(`${path} was not rendered`);
    return content;
  };
  return {
    files,
    k3s: (n: KtswNode) => parse(text(k3sConfigPath(n.name))) as K3s,
    k3sText: (n: KtswNode) => text(k3sConfigPath(n.name)),
    userData: (n: KtswNode) => parse(text(userDataPath(n.name))) as UserData,
    userDataText: (n: KtswNode) => text(userDataPath(n.name)),
  };
}

const byRole = (c: KtswConfig, role: KtswNode["role"]) => c.nodes.filter((n) => n.role === role);
const fileAt = (ud: UserData, path: string) => ud.write_files.find((f) => f.path === path);

describe("k3s config", () => {
  test("the first control plane initialises etcd; every other node joins through the API VIP", async () => {
    const c = await exampleConfig();
    const r = rendered(c);
    const [first, ...otherServers] = byRole(c, "control-plane");
    if (!first) throw new Error("example has no control plane");
    expect(r.k3s(first)["cluster-init"]).toBe(true);
    expect(r.k3s(first)).not.toHaveProperty("server");
    const join = `https://${c.kubernetes.apiVip}:6443`;
    expect(otherServers.length + byRole(c, "worker").length).toBeGreaterThan(0);
    for (const n of [...otherServers, ...byRole(c, "worker")]) {
      expect(r.k3s(n).server, n.name).toBe(join);
      expect(r.k3s(n), n.name).not.toHaveProperty("cluster-init");
    }
    // No node's address is a join target: losing any one server leaves every join working.
    for (const n of c.nodes) expect(r.k3sText(n), n.name).not.toContain(`https://${first.addresses.nodes}`);
  });

  test("once the cluster exists (its CA hash is set), no server initialises etcd: a rebuilt first server joins through the VIP", async () => {
    const c = structuredClone(await exampleConfig());
    c.kubernetes.clusterCaHash = "ab".repeat(32);
    const r = rendered(c);
    for (const n of c.nodes) expect(r.k3s(n), n.name).not.toHaveProperty("cluster-init");
    for (const n of c.nodes) expect(r.k3s(n).server, n.name).toBe(`https://${c.kubernetes.apiVip}:6443`);
  });

  test("a single server keeps cluster-init even with the CA hash set: there is no other server to rejoin", async () => {
    const [, c] = (await allValidConfigs()).find(([name]) => name === "single-node.yaml") ?? [];
    if (!c) throw new Error("single-node.yaml fixture missing");
    const known = structuredClone(c);
    known.kubernetes.clusterCaHash = "ab".repeat(32);
    const only = byRole(known, "control-plane")[0] as KtswNode;
    expect(byRole(known, "control-plane")).toHaveLength(1);
    expect(rendered(known).k3s(only)).toMatchObject({ "cluster-init": true });
    expect(rendered(known).k3s(only)).not.toHaveProperty("server");
    // The server that initialises etcd takes the short token: a CA hash cannot be checked by the CA's creator.
    expect(fileAt(rendered(known).userData(only), k3sPaths.token)?.content.trim()).toBe(k3sTokenPlaceholder);
  });

  test("workers get agent flags only: no cluster-wide or API server settings", async () => {
    const c = await exampleConfig();
    const r = rendered(c);
    const serverOnly = Object.keys(r.k3s(byRole(c, "control-plane")[0] as KtswNode)).filter(
      (k) => !["server", "node-name", "node-ip", "token-file", "protect-kernel-defaults", "kubelet-arg"].includes(k),
    );
    // The list of server-only keys is derived from a rendered server, so it grows with the renderer.
    expect(serverOnly).toEqual(expect.arrayContaining(["tls-san", "disable", "kube-apiserver-arg", "flannel-backend"]));
    for (const w of byRole(c, "worker")) {
      const cfg = r.k3s(w);
      for (const key of serverOnly) expect(cfg, `${w.name} must not set ${key}`).not.toHaveProperty(key);
      expect(cfg["protect-kernel-defaults"]).toBe(true);
      expect(cfg["kubelet-arg"]).toEqual(r.k3s(byRole(c, "control-plane")[0] as KtswNode)["kubelet-arg"]);
    }
  });

  test("every node gets its own name and addresses, in every valid config", async () => {
    for (const [, c] of await allValidConfigs()) {
      const r = rendered(c);
      for (const n of c.nodes) {
        const cfg = r.k3s(n);
        expect(cfg["node-name"]).toBe(n.name);
        expect(cfg["node-ip"]).toBe(n.addresses.nodes);
        if (n.role === "control-plane") {
          expect(cfg["advertise-address"]).toBe(n.addresses.nodes);
          expect(cfg["tls-san"]).toEqual(
            expect.arrayContaining([kubeApiHost(c), `api.${c.site.domain}`, n.addresses.nodes]),
          );
        }
      }
      const ips = c.nodes.map((n) => r.k3s(n)["node-ip"]);
      expect(new Set(ips).size).toBe(c.nodes.length);
    }
  });

  test("hard mode: k3s' CNI, policy controller, kube-proxy and bundled add-ons are off; CIDRs from config", async () => {
    for (const [name, c] of await allValidConfigs()) {
      const r = rendered(c);
      for (const n of byRole(c, "control-plane")) {
        const cfg = r.k3s(n);
        expect(cfg, name).toMatchObject({
          "flannel-backend": "none",
          "disable-network-policy": true,
          "disable-kube-proxy": true,
          "secrets-encryption": true,
          "protect-kernel-defaults": true,
          "cluster-cidr": c.kubernetes.podCidr,
          "service-cidr": c.kubernetes.serviceCidr,
          "cluster-dns": c.kubernetes.clusterDns,
        });
        expect(cfg.disable).toEqual(expect.arrayContaining(["servicelb", "traefik", "local-storage"]));
      }
    }
  });

  test("API server flags point at files the control plane's user-data actually writes", async () => {
    const c = await exampleConfig();
    const r = rendered(c);
    for (const n of byRole(c, "control-plane")) {
      const args = r.k3s(n)["kube-apiserver-arg"] as string[];
      const flag = (name: string) => args.find((a) => a.startsWith(`${name}=`))?.split("=")[1];
      const ud = r.userData(n);
      for (const name of ["audit-policy-file", "admission-control-config-file"]) {
        const path = flag(name);
        expect(path, name).toBeDefined();
        expect(fileAt(ud, path as string), `${n.name} writes ${path}`).toBeDefined();
      }
      expect(parse(fileAt(ud, k3sPaths.auditPolicy)?.content ?? "")).toEqual(auditPolicy);
      expect(parse(fileAt(ud, k3sPaths.admissionConfig)?.content ?? "")).toEqual(admissionConfig);
      expect(args).toContain("anonymous-auth=false");
      // Every plugin the flag enables that needs settings finds them in the admission config.
      const enabled = flag("enable-admission-plugins")?.split(",") ?? [];
      expect(enabled).toContain("NodeRestriction");
      const configured = admissionConfig.plugins.map((p) => p.name as string);
      for (const plugin of enabled.filter((p) => p !== "NodeRestriction")) expect(configured).toContain(plugin);
    }
    for (const w of byRole(c, "worker")) {
      expect(fileAt(r.userData(w), k3sPaths.auditPolicy)).toBeUndefined();
      expect(fileAt(r.userData(w), k3sPaths.admissionConfig)).toBeUndefined();
    }
  });

  test("the API VIP and a named API endpoint are in every server certificate; joins still use the VIP", async () => {
    const c = structuredClone(await exampleConfig());
    c.kubernetes.apiEndpoint = `k8s.${c.site.domain}`;
    const r = rendered(c);
    for (const n of byRole(c, "control-plane")) {
      expect(r.k3s(n)["tls-san"]).toEqual(expect.arrayContaining([c.kubernetes.apiVip, c.kubernetes.apiEndpoint]));
    }
    for (const n of c.nodes.filter((n) => r.k3s(n).server !== undefined)) {
      expect(r.k3s(n).server).toBe(`https://${c.kubernetes.apiVip}:6443`);
    }
  });

  test("Cilium's API host (KUBE_API_HOST) is the VIP, never a node's address", async () => {
    for (const [name, c] of await allValidConfigs()) {
      expect(kubeApiHost(c), name).toBe(c.kubernetes.apiVip);
      expect(
        c.nodes.map((n) => n.addresses.nodes),
        name,
      ).not.toContain(kubeApiHost(c));
    }
  });

  test("control planes are tainted only when there are workers to run the workloads", async () => {
    for (const [name, c] of await allValidConfigs()) {
      const r = rendered(c);
      const hasWorkers = byRole(c, "worker").length > 0;
      for (const n of byRole(c, "control-plane")) {
        expect(r.k3s(n)["node-taint"] !== undefined, `${name} ${n.name}`).toBe(hasWorkers);
      }
    }
  });
});

describe("cloud-init user-data", () => {
  test("starts with #cloud-config and carries the node's identity and the operator's keys only", async () => {
    for (const [name, c] of await allValidConfigs()) {
      const r = rendered(c);
      for (const n of c.nodes) {
        expect(r.userDataText(n).split("\n")[0], `${name} ${n.name}`).toBe("#cloud-config");
        const ud = r.userData(n);
        expect(ud.hostname).toBe(n.name);
        expect(ud.fqdn).toBe(`${n.name}.${c.site.domain}`);
        expect(ud.timezone).toBe(c.site.timezone);
        expect(ud.ssh_pwauth).toBe(false);
        expect(ud.users).toHaveLength(1);
        expect(ud.users[0]).toMatchObject({
          name: c.ssh.user,
          lock_passwd: true,
          ssh_authorized_keys: c.ssh.authorizedKeys,
        });
      }
    }
  });

  test("the k3s config on the node is byte-identical to the committed k3s-config.yaml", async () => {
    const c = await exampleConfig();
    const r = rendered(c);
    for (const n of c.nodes) {
      const onNode = fileAt(r.userData(n), k3sPaths.config);
      expect(onNode?.content).toBe(r.k3sText(n));
      expect(onNode?.permissions).toBe("0600");
    }
  });

  test("host sysctls and modules are written, including everything protect-kernel-defaults checks", async () => {
    const c = await exampleConfig();
    const ud = rendered(c).userData(c.nodes[0] as KtswNode);
    for (const f of hostFiles) expect(fileAt(ud, f.path)?.content).toBe(hostFileContent(f));
    const sysctl = fileAt(ud, kubeletSysctls.path)?.content ?? "";
    for (const key of ["vm.panic_on_oom=0", "vm.overcommit_memory=1", "kernel.panic=10", "kernel.panic_on_oops=1"]) {
      expect(sysctl.split("\n")).toContain(key);
    }
  });

  test("every node is prepared for Longhorn: iSCSI and NFS clients installed, iscsid running before k3s, iscsi_tcp loaded at boot", async () => {
    const c = await exampleConfig();
    const r = rendered(c);
    for (const n of c.nodes) {
      const ud = r.userData(n);
      expect(ud.packages, n.name).toEqual(expect.arrayContaining(["open-iscsi", "nfs-common"]));
      const enable = ud.runcmd.indexOf("systemctl enable --now iscsid.service");
      expect(enable, `${n.name}: iscsid is enabled and started`).toBeGreaterThanOrEqual(0);
      expect(enable, `${n.name}: before k3s starts Longhorn's manager`).toBeLessThan(
        ud.runcmd.indexOf(installScriptPath),
      );
      const modules = fileAt(ud, kernelModules.path)?.content ?? "";
      expect(modules.split("\n"), n.name).toContain("iscsi_tcp");
    }
  });

  test("workers never hold the server token: servers accept a separate agent token, workers join with it", async () => {
    for (const [name, c] of await allValidConfigs()) {
      const r = rendered(c);
      for (const n of byRole(c, "control-plane")) {
        const cfg = r.k3s(n);
        expect(cfg["token-file"], `${name} ${n.name}`).toBe(k3sPaths.token);
        expect(cfg["agent-token-file"]).toBe(k3sPaths.agentToken);
        expect(fileAt(r.userData(n), k3sPaths.token)?.content.trim()).toBe(k3sTokenPlaceholder);
        expect(fileAt(r.userData(n), k3sPaths.agentToken)?.content.trim()).toBe(k3sAgentTokenPlaceholder);
      }
      for (const w of byRole(c, "worker")) {
        expect(r.k3s(w)["token-file"], `${name} ${w.name}`).toBe(k3sPaths.token);
        expect(fileAt(r.userData(w), k3sPaths.token)?.content.trim()).toBe(k3sAgentTokenPlaceholder);
        expect(r.userDataText(w)).not.toContain(k3sTokenPlaceholder);
        expect(fileAt(r.userData(w), k3sPaths.agentToken)).toBeUndefined();
      }
    }
  });

  test("with the CA hash known, every joining node's token is k3s' secure K10 form", async () => {
    const c = structuredClone(await exampleConfig());
    const caHash = "0123456789abcdef".repeat(4);
    c.kubernetes.clusterCaHash = caHash;
    const r = rendered(c);
    for (const n of byRole(c, "control-plane")) {
      expect(fileAt(r.userData(n), k3sPaths.token)?.content, n.name).toBe(
        `K10${caHash}::server:${k3sTokenPlaceholder}\n`,
      );
      // What a server accepts from agents stays the bare secret; only a joining node checks a CA.
      expect(fileAt(r.userData(n), k3sPaths.agentToken)?.content).toBe(`${k3sAgentTokenPlaceholder}\n`);
    }
    for (const w of byRole(c, "worker")) {
      expect(fileAt(r.userData(w), k3sPaths.token)?.content, w.name).toBe(
        `K10${caHash}::node:${k3sAgentTokenPlaceholder}\n`,
      );
    }
    expect(secureToken(caHash, "node", "pw")).toBe(`K10${caHash}::node:pw`);
  });

  test("no secret in Git: each token file holds its placeholder, the only copy of it in the file", async () => {
    for (const [name, c] of await allValidConfigs()) {
      const r = rendered(c);
      for (const n of c.nodes) {
        const tokens = nodeTokenFiles(c, n);
        expect(tokens.length, `${name} ${n.name}`).toBeGreaterThan(0);
        for (const t of tokens) {
          expect(fileAt(r.userData(n), t.path)?.content).toContain(t.placeholder);
          // OpenTofu replaces every occurrence; a second one (say, in a check) would be rewritten too.
          expect(r.userDataText(n).split(t.placeholder), `${n.name} ${t.placeholder}`).toHaveLength(2);
        }
      }
    }
  });

  test("the installer's token check, run for real, refuses a placeholder and accepts substituted tokens", async () => {
    const c = structuredClone(await exampleConfig());
    const dir = mkdtempSync(join(tmpdir(), "ktsw-token-"));
    try {
      const secrets = {
        [k3sTokenPlaceholder]: "0123456789abcdef0123456789abcdef",
        [k3sAgentTokenPlaceholder]: "fedcba9876543210fedcba9876543210",
      };
      const substitute = (text: string) =>
        Object.entries(secrets).reduce((t, [placeholder, secret]) => t.replaceAll(placeholder, secret), text);
      const local = (path: string) => join(dir, path.replaceAll("/", "_"));
      /** The script up to its token checks, pointed at temp token files (the rest installs k3s). */
      const guardOf = (ud: UserData, n: KtswNode) => {
        const script = fileAt(ud, installScriptPath)?.content ?? "";
        let guard = script.slice(0, script.lastIndexOf('chmod 0600 "$token"\n') + 20);
        for (const t of nodeTokenFiles(c, n)) {
          expect(guard).toContain(`token=${t.path}\n`);
          guard = guard.replace(`token=${t.path}\n`, `token='${local(t.path)}'\n`);
        }
        return guard;
      };
      const runGuard = (guard: string) => spawnSync("sh", ["-c", guard], { encoding: "utf8" });
      for (const caHash of [undefined, "ab".repeat(32)]) {
        c.kubernetes.clusterCaHash = caHash;
        const r = rendered(c);
        for (const n of c.nodes) {
          const tokens = nodeTokenFiles(c, n);
          // As OpenTofu uploads it: every placeholder replaced, and the installer proceeds.
          const substituted = parse(substitute(r.userDataText(n))) as UserData;
          const writeAll = (ud: UserData) => {
            for (const t of tokens) writeFileSync(local(t.path), fileAt(ud, t.path)?.content ?? "");
          };
          writeAll(substituted);
          const accepted = runGuard(guardOf(substituted, n));
          expect(accepted.status, `${n.name}: ${accepted.stderr}`).toBe(0);
          // Any one file still as committed (placeholder, K10 form or not), and the installer stops.
          for (const t of tokens) {
            writeAll(substituted);
            writeFileSync(local(t.path), fileAt(r.userData(n), t.path)?.content ?? "");
            const refused = runGuard(guardOf(substituted, n));
            expect(refused.status, `${n.name} ${t.path}`).toBe(1);
            expect(refused.stderr).toContain(`no k3s token in ${local(t.path)}`);
          }
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the install script pins the release, picks the role, and is valid sh", async () => {
    const c = await exampleConfig();
    const r = rendered(c);
    for (const n of c.nodes) {
      const ud = r.userData(n);
      const script = fileAt(ud, installScriptPath)?.content ?? "";
      expect(script.startsWith("#!/bin/sh\n")).toBe(true);
      expect(script).toContain(`INSTALL_K3S_VERSION='${c.kubernetes.k3sVersion}'`);
      expect(script).toContain(`INSTALL_K3S_EXEC='${n.role === "control-plane" ? "server" : "agent"}'`);
      expect(script).toContain(k3sInstallerUrl(c.kubernetes.k3sVersion));
      expect(ud.runcmd).toContain(installScriptPath);
      // `sh -n` parses without running: a quoting slip in the template fails here, not on first boot.
      execFileSync("sh", ["-n"], { input: script });
    }
    expect(k3sInstallerUrl("v1.33.5+k3s1")).toMatch(/\/v1\.33\.5%2Bk3s1\/install\.sh$/);
  });
});

describe("rendering is pure and deterministic", () => {
  test("rendering twice, or from a copy of the config, gives identical files", async () => {
    for (const [name, c] of await allValidConfigs()) {
      const once = renderNodes(c);
      expect(renderNodes(structuredClone(c)), name).toEqual(once);
      // Two files per node, plus the two control-plane policy files and the kube-vip manifest.
      expect(Object.keys(once).length).toBe(2 * c.nodes.length + 3);
    }
  });

  test("each node's files depend on its own entry: changing one node leaves the others untouched", async () => {
    const c = await exampleConfig();
    const before = renderNodes(c);
    const changed = structuredClone(c);
    const last = changed.nodes[changed.nodes.length - 1] as KtswNode;
    last.cores += 1; // not rendered into node files; addresses are
    last.addresses.storage = "10.30.0.250";
    last.addresses.nodes = "10.20.0.250";
    const after = renderNodes(changed);
    const differs = Object.keys(before).filter((p) => before[p] !== after[p]);
    expect(differs.sort()).toEqual([k3sConfigPath(last.name), userDataPath(last.name)].sort());
  });
});

describe("the API VIP's holder (kube-vip static pod)", () => {
  interface Pod {
    kind: string;
    metadata: { namespace: string };
    spec: {
      hostNetwork: boolean;
      containers: {
        image: string;
        args: string[];
        env: { name: string; value?: string }[];
        securityContext: { capabilities: { add: string[]; drop: string[] } };
        volumeMounts: { mountPath: string }[];
      }[];
      volumes: { hostPath: { path: string; type: string } }[];
    };
  }

  test("every control plane writes it into k3s' static-pod folder before k3s starts; workers do not", async () => {
    for (const [name, c] of await allValidConfigs()) {
      const r = rendered(c);
      const committed = r.files["infrastructure/nodes/kube-vip.yaml"];
      expect(committed, name).toBeDefined();
      for (const n of byRole(c, "control-plane")) {
        const ud = r.userData(n);
        expect(fileAt(ud, kubeVipManifestPath)?.content, `${name} ${n.name}`).toBe(committed);
        // write_files runs before runcmd, whose last step installs and starts k3s.
        expect(ud.runcmd.at(-1)).toBe(installScriptPath);
      }
      for (const w of byRole(c, "worker")) expect(fileAt(r.userData(w), kubeVipManifestPath), w.name).toBeUndefined();
    }
  });

  test("it is a valid Pod for the cluster's Kubernetes version (the built-in schema, strict)", async () => {
    const c = await exampleConfig();
    const repo = join(import.meta.dirname, "..", "..", "..", "..");
    const sources = defaultSchemaSources(repo, undefined, undefined, c.kubernetes.k3sVersion);
    ensureBuiltinSchemas(sources.builtinDir, c.kubernetes.k3sVersion);
    const lookup = await new SchemaStore({ ...sources, validatorCacheDir: undefined }).lookup("v1", "Pod");
    if (!lookup.found) throw new Error(`no Pod schema (tried ${lookup.tried.join(", ")})`);
    const pod = parse(renderNodes(c)["infrastructure/nodes/kube-vip.yaml"] ?? "");
    expect(lookup.validate(pod), JSON.stringify(lookup.validate.errors)).toBe(true);
    // The schema is strict: a misspelt field is refused, so the pass above means something.
    expect(lookup.validate({ ...pod, spec: { ...pod.spec, hostNetwrok: true } })).toBe(false);
  }, 120_000);

  test("it announces the site's API VIP by ARP, elected through its own server's API, with a pinned image", async () => {
    for (const [name, c] of await allValidConfigs()) {
      const pod = parse(renderNodes(c)["infrastructure/nodes/kube-vip.yaml"] ?? "") as Pod;
      const container = pod.spec.containers[0];
      if (!container) throw new Error(`${name}: no container`);
      const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
      expect(pod.kind).toBe("Pod");
      expect(pod.metadata.namespace).toBe("kube-system");
      expect(pod.spec.hostNetwork).toBe(true);
      expect(container.image).toMatch(/^ghcr\.io\/kube-vip\/kube-vip:v\d+\.\d+\.\d+$/);
      expect(container.args).toEqual(["manager"]);
      expect(env).toMatchObject({
        address: c.kubernetes.apiVip,
        port: "6443",
        vip_arp: "true",
        cp_enable: "true",
        vip_leaderelection: "true",
        k8s_config_file: "/etc/rancher/k3s/k3s.yaml",
      });
      // No BGP: the node's one BGP session to the router belongs to MetalLB.
      expect(Object.keys(env).filter((k) => k.startsWith("bgp_"))).toEqual([]);
      expect(Number(env.vip_leaseduration)).toBeGreaterThan(Number(env.vip_renewdeadline));
      expect(Number(env.vip_renewdeadline)).toBeGreaterThan(Number(env.vip_retryperiod));
      expect(container.securityContext.capabilities).toEqual({ add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] });
      // The kubeconfig k3s writes is mounted as a file that must exist (never created as a directory).
      expect(container.volumeMounts.map((m) => m.mountPath)).toEqual([env.k8s_config_file]);
      expect(pod.spec.volumes).toEqual([{ name: "kubeconfig", hostPath: { path: env.k8s_config_file, type: "File" } }]);
    }
  });
});
