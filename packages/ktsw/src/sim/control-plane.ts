// The sim's processes and their flags, from ktsw.yaml and what `ktsw render` produces for the k3s servers. Pure:
// config, ports and paths in, command lines out, so a test reads exactly what would run.
//
// k3s turns its config file into the API server's flags; the sim does the same by hand for what matters to the
// tree: the rendered `kube-apiserver-arg` and `kube-controller-manager-arg` lists pass through as flags (their node
// paths pointed at the sim's copies of the policy files), `service-cidr` becomes the service range, `cluster-cidr`
// kwok's pod addresses, `node-taint` the kwok Nodes' taints (nodes.ts). Dropped, because they configure what k3s
// packages around Kubernetes or the machine, not the API the tree talks to: `secrets-encryption` (k3s writes its own
// encryption config; a throwaway sim keeps nothing worth encrypting at rest), `tls-san` (the sim serves on
// loopback), `disable`/`flannel-backend`/`disable-network-policy`/`disable-kube-proxy` (components the sim never
// runs), `kubelet-arg`/`protect-kernel-defaults`/`cluster-dns` (there is no kubelet), the join token.
import { parseCidr, toAddress } from "../config/ipv4.ts";
import type { KtswConfig } from "../config/schema.ts";
import { firstControlPlane, k3sConfig, k3sPaths } from "../render/nodes/k3s-config.ts";
import type { SimClusterToolName } from "../tools/catalog.ts";
import type { SimCerts } from "./certs.ts";
import type { SimLayout } from "./layout.ts";
import { kwokNodeAnnotation } from "./nodes.ts";

export interface SimPorts {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
  /** The controller manager's /metrics (loopback, no client certificate needed): how a drill sees its work queues. */
  controllerManager: number;
}

export interface Component {
  name: SimClusterToolName;
  args: string[];
}

/** k3s' own API server defaults the rendered list relies on (k3s sets them before the user's args). */
const k3sApiServerDefaults = ["authorization-mode=Node,RBAC", "profiling=false"];

/** `name=value` entries of a k3s `*-arg` list as `--name=value` flags, with the k3s server's file paths swapped for
 *  the sim's; a path the sim has no copy of is an error rather than a flag pointing at nothing. */
export function k3sArgsAsFlags(args: readonly string[], paths: ReadonlyMap<string, string>): string[] {
  return args.map((arg) => {
    let flag = `--${arg}`;
    for (const [onNode, local] of paths) flag = flag.split(onNode).join(local);
    const left = /\/(var\/lib|etc)\/rancher\/\S*/.exec(flag);
    if (left) throw new Error(`k3s argument "${arg}" points at ${left[0]}, which the sim has no copy of`);
    return flag;
  });
}

/** The `kubernetes` Service's cluster IP: the first host address of the service CIDR. */
export function firstServiceIp(cidr: string): string {
  return toAddress(parseCidr(cidr).network + 1);
}

export function apiServerUrl(ports: SimPorts): string {
  return `https://127.0.0.1:${ports.apiServer}`;
}

export function controlPlane(c: KtswConfig, ports: SimPorts, layout: SimLayout, certs: SimCerts): Component[] {
  const server = k3sConfig(c, firstControlPlane(c));
  const nodePaths = new Map([
    [k3sPaths.admissionConfig, layout.admissionConfig],
    [k3sPaths.auditPolicy, layout.auditPolicy],
    [k3sPaths.auditLogDir, layout.logs],
  ]);
  const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
  const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
  const kubeconfig = `--kubeconfig=${layout.kubeconfig}`;
  return [
    {
      name: "etcd",
      // Plain HTTP on loopback: only the API server talks to it. No fsync: the sim's data is thrown away anyway,
      // and fsync on a busy CI disk is what makes etcd slow.
      args: [
        "--name=sim",
        `--data-dir=${layout.etcdData}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=sim=${peerUrl}`,
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ],
    },
    {
      name: "kube-apiserver",
      args: [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        // Published as the `kubernetes` Service's endpoint, which may not be loopback: the first server's address,
        // as on the site (it serves on loopback all the same).
        `--advertise-address=${firstControlPlane(c).addresses.nodes}`,
        `--secure-port=${ports.apiServer}`,
        `--service-cluster-ip-range=${server["service-cidr"]}`,
        `--tls-cert-file=${certs.servingCert}`,
        `--tls-private-key-file=${certs.servingKey}`,
        `--client-ca-file=${certs.caCert}`,
        `--service-account-key-file=${certs.serviceAccountPub}`,
        `--service-account-signing-key-file=${certs.serviceAccountKey}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--allow-privileged=true",
        ...k3sArgsAsFlags(k3sApiServerDefaults, nodePaths),
        ...k3sArgsAsFlags(server["kube-apiserver-arg"] as string[], nodePaths),
      ],
    },
    {
      name: "kube-controller-manager",
      // Served on loopback for its /metrics alone, which anyone there may read: the backup drill waits on the
      // namespace controller's work queue (drills/backup.ts says why). One instance: no leader election.
      args: [
        kubeconfig,
        `--secure-port=${ports.controllerManager}`,
        "--bind-address=127.0.0.1",
        "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
        "--leader-elect=false",
        `--service-account-private-key-file=${certs.serviceAccountKey}`,
        `--root-ca-file=${certs.caCert}`,
        `--cluster-signing-cert-file=${certs.caCert}`,
        `--cluster-signing-key-file=${certs.caKey}`,
        ...k3sArgsAsFlags(server["kube-controller-manager-arg"] as string[], nodePaths),
      ],
    },
    { name: "kube-scheduler", args: [kubeconfig, "--secure-port=0", "--leader-elect=false"] },
    {
      name: "kwok",
      args: [
        kubeconfig,
        `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation.key}=${kwokNodeAnnotation.value}`,
        // Pod addresses from the site's pod CIDR, as Cilium would hand them out. No stages given: kwok then plays
        // its default ones (node-initialize + heartbeat with lease; pod ready, complete, delete), so pods "run",
        // Jobs complete and deleted pods go away.
        `--cidr=${server["cluster-cidr"]}`,
        // Heartbeats by Lease, as a kubelet sends them: without one kwok only patches each Node's status now and
        // then (about once a minute, slower under load), the node lifecycle controller's 50 s grace runs out, it
        // marks the nodes NotReady and every pod on them unready, and Deployments lose their availability.
        "--node-lease-duration-seconds=40",
      ],
    },
  ];
}

/** A kubeconfig for the admin identity, certificates inline so the file alone is enough. */
export function adminKubeconfig(server: string, pem: { ca: string; cert: string; key: string }): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "ktsw-sim", cluster: { server, "certificate-authority-data": b64(pem.ca) } }],
      users: [
        { name: "ktsw-sim-admin", user: { "client-certificate-data": b64(pem.cert), "client-key-data": b64(pem.key) } },
      ],
      contexts: [{ name: "ktsw-sim", context: { cluster: "ktsw-sim", user: "ktsw-sim-admin" } }],
      "current-context": "ktsw-sim",
    },
    null,
    2,
  );
}
