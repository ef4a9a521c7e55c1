// Flux's controllers as the sim's processes: the same release (v2.7.3) a user's cluster runs, reconciling the same
// objects, but as local programs with the admin kubeconfig instead of Deployments in flux-system. Pure: ports and
// paths in, command lines out.
//
// On a cluster the controllers reach each other through Services; here through loopback ports: source-controller
// serves the artifacts it fetched (the tree, the charts) on its storage port and advertises that address in each
// artifact's URL, which is where kustomize- and helm-controller download them from.
import type { SimToolName } from "../tools/catalog.ts";
import type { SimLayout } from "./layout.ts";

export const fluxControllers = ["source-controller", "kustomize-controller", "helm-controller"] as const;
export type FluxController = (typeof fluxControllers)[number];

/** The namespace Flux lives in: its controllers record events and look up their own settings there. */
export const fluxNamespace = "flux-system";

export interface FluxPorts {
  /** source-controller's artifact server. */
  artifacts: number;
  /** Each controller's health endpoint (`/readyz`), what the sim waits on. */
  health: Record<FluxController, number>;
}

export interface FluxProcess {
  name: SimToolName & FluxController;
  args: string[];
  env: Record<string, string>;
}

export function fluxProcesses(ports: FluxPorts, layout: SimLayout): FluxProcess[] {
  const common = (name: FluxController) => [
    // Nothing scrapes the sim: no metrics listener, one port fewer to pick.
    "--metrics-addr=0",
    `--health-addr=127.0.0.1:${ports.health[name]}`,
    "--log-level=info",
    "--log-encoding=console",
    "--watch-all-namespaces=true",
    // An object waiting on a dependency looks again after 5 s instead of Flux's 30 s: the sim reports a tree Ready
    // as soon as it is, which is what its timings measure. Nothing else about reconciling changes.
    "--requeue-dependency=5s",
  ];
  // The controllers run outside the cluster: the kubeconfig tells them where it is, and RUNTIME_NAMESPACE is the
  // namespace the Deployment would have put them in.
  const env = { KUBECONFIG: layout.kubeconfig, RUNTIME_NAMESPACE: fluxNamespace, TMPDIR: layout.fluxTmp };
  const artifacts = `127.0.0.1:${ports.artifacts}`;
  return [
    {
      name: "source-controller",
      args: [
        ...common("source-controller"),
        `--storage-path=${layout.fluxArtifacts}`,
        `--storage-addr=${artifacts}`,
        `--storage-adv-addr=${artifacts}`,
      ],
      env,
    },
    { name: "kustomize-controller", args: common("kustomize-controller"), env },
    { name: "helm-controller", args: common("helm-controller"), env },
  ];
}

/** Where a controller's readiness is read. */
export function fluxReadyz(ports: FluxPorts, name: FluxController): string {
  return `http://127.0.0.1:${ports.health[name]}/readyz`;
}
