// The sim's command lines and kwok Nodes, read without starting anything: what ktsw renders for the k3s servers is
// what the sim's API server runs with, and each VM of ktsw.yaml becomes a Node the scheduler sizes pods against.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { KtswConfig } from "../../src/config/schema.ts";
import { k3sPaths, kubeApiserverArgs } from "../../src/render/nodes/k3s-config.ts";
import { certFiles } from "../../src/sim/certs.ts";
import { controlPlane, firstServiceIp, k3sArgsAsFlags } from "../../src/sim/control-plane.ts";
import { simLayout } from "../../src/sim/layout.ts";
import { kwokNodes, parseTaint } from "../../src/sim/nodes.ts";

const repo = join(import.meta.dirname, "..", "..", "..", "..");
async function siteConfig(): Promise<KtswConfig> {
  const { config, findings } = await loadConfig(join(repo, "ktsw.yaml"));
  if (!config) throw new Error(`ktsw.yaml does not load: ${JSON.stringify(findings)}`);
  return config;
}

const layout = simLayout("/state");
const ports = { etcdClient: 2379, etcdPeer: 2380, apiServer: 6443, controllerManager: 10257 };
const argsOf = (c: KtswConfig, name: string) =>
  controlPlane(c, ports, layout, certFiles("/state/certs")).find((p) => p.name === name)?.args ?? [];

describe("the sim's control plane", () => {
  test("starts etcd, the API server, the controller manager, the scheduler and kwok, in that order", async () => {
    const names = controlPlane(await siteConfig(), ports, layout, certFiles("/c")).map((p) => p.name);
    expect(names).toEqual(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
  });

  test("the API server runs with every rendered k3s API server argument, its policy files at the sim's copies", async () => {
    const c = await siteConfig();
    const args = argsOf(c, "kube-apiserver");
    expect(args).toContain("--enable-admission-plugins=NodeRestriction,EventRateLimit");
    expect(args).toContain(`--admission-control-config-file=${layout.admissionConfig}`);
    expect(args).toContain(`--audit-policy-file=${layout.auditPolicy}`);
    expect(args).toContain(`--audit-log-path=${layout.logs}/audit.log`);
    expect(args).toContain("--allow-privileged=true");
    expect(args).toContain("--authorization-mode=Node,RBAC");
    expect(args).toContain(`--service-cluster-ip-range=${c.kubernetes.serviceCidr}`);
    expect(args).toContain(`--etcd-servers=http://127.0.0.1:${ports.etcdClient}`);
    expect(args).toContain("--bind-address=127.0.0.1");
    expect(args).toContain(`--advertise-address=${c.nodes.find((n) => n.role === "control-plane")?.addresses.nodes}`);
    for (const arg of kubeApiserverArgs)
      expect(
        args.some((a) => a.startsWith(`--${arg.split("=")[0]}=`)),
        arg,
      ).toBe(true);
    expect(args.join(" ")).not.toMatch(/rancher/);
  });

  test("the controller manager gets the rendered arguments; kwok hands out pod addresses from the pod CIDR", async () => {
    const c = await siteConfig();
    expect(argsOf(c, "kube-controller-manager")).toContain("--terminated-pod-gc-threshold=100");
    expect(argsOf(c, "kwok")).toContain(`--cidr=${c.kubernetes.podCidr}`);
    // Lease heartbeats, like a kubelet's: status patches alone come too rarely for the node lifecycle's grace.
    expect(argsOf(c, "kwok")).toContain("--node-lease-duration-seconds=40");
  });

  test("kwok renews a node Lease for each node, so a late status update never turns a node NotReady", async () => {
    expect(argsOf(await siteConfig(), "kwok")).toContain("--node-lease-duration-seconds=40");
  });

  test("a k3s argument pointing at a server path the sim has no copy of is an error naming it", () => {
    const paths = new Map([[k3sPaths.auditPolicy, "/s/audit.yaml"]]);
    expect(k3sArgsAsFlags([`audit-policy-file=${k3sPaths.auditPolicy}`], paths)).toEqual([
      "--audit-policy-file=/s/audit.yaml",
    ]);
    expect(() =>
      k3sArgsAsFlags(["encryption-provider-config=/var/lib/rancher/k3s/server/cred/enc.json"], paths),
    ).toThrow(/encryption-provider-config=.*points at \/var\/lib\/rancher\/k3s\/server\/cred\/enc\.json/);
  });

  test("the kubernetes Service's address is the first host of the service CIDR", () => {
    expect(firstServiceIp("10.43.0.0/16")).toBe("10.43.0.1");
  });
});

describe("kwok nodes from ktsw.yaml", () => {
  test("one per VM, with its name, k3s role labels, rendered taint and the VM's size", async () => {
    const c = await siteConfig();
    const nodes = kwokNodes(c, "v1.34.4") as {
      metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
      spec: { taints: unknown[] };
      status: { capacity: Record<string, string>; allocatable: Record<string, string>; nodeInfo: object };
    }[];
    expect(nodes.map((n) => n.metadata.name)).toEqual(c.nodes.map((n) => n.name));
    for (const [i, vm] of c.nodes.entries()) {
      const n = nodes[i];
      if (!n) throw new Error("missing node");
      expect(n.metadata.annotations["kwok.x-k8s.io/node"]).toBe("fake");
      expect(n.status.capacity).toEqual({ cpu: String(vm.cores), memory: `${vm.memory}Mi`, pods: "110" });
      expect(n.status.allocatable.memory).toBe(`${vm.memory - 100}Mi`);
      // The API's schema requires every NodeSystemInfo field (kwok fills the empty ones).
      expect(Object.keys(n.status.nodeInfo).sort()).toEqual(
        ["architecture", "bootID", "containerRuntimeVersion", "kernelVersion", "kubeProxyVersion", "kubeletVersion"]
          .concat(["machineID", "operatingSystem", "osImage", "systemUUID"])
          .sort(),
      );
      const isServer = vm.role === "control-plane";
      expect(n.metadata.labels["node-role.kubernetes.io/control-plane"]).toBe(isServer ? "true" : undefined);
      // The site has workers, so ktsw renders the control-plane taint on every server.
      expect(n.spec.taints).toEqual(
        isServer ? [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] : [],
      );
    }
  });

  test("a single-node site has no control-plane taint (it must still run pods)", async () => {
    const c = await siteConfig();
    const first = c.nodes[0];
    if (!first) throw new Error("no node");
    const [only] = kwokNodes({ ...c, nodes: [first] }, "v1.34.4") as { spec: { taints: unknown[] } }[];
    expect(only?.spec.taints).toEqual([]);
  });

  test("a node-taint that is not key[=value]:Effect is an error naming it", () => {
    expect(parseTaint("dedicated=db:NoExecute")).toEqual({ key: "dedicated", value: "db", effect: "NoExecute" });
    expect(() => parseTaint("dedicated:Sometimes")).toThrow(
      'node-taint "dedicated:Sometimes" is not key[=value]:Effect',
    );
  });
});
