// kubectl of the sim's Kubernetes release, bound to one kubeconfig: how the sim and `ktsw bootstrap` talk to a cluster.
import { run } from "../lab/net/shell.ts";
import { requireSimTool } from "../tools/find.ts";

/** Runs kubectl with these arguments (and stdin), resolving to its stdout; a non-zero exit rejects with its stderr. */
export type Kubectl = (args: readonly string[], input?: string) => Promise<string>;

export function simKubectl(binFolder: string, kubeconfig: string): Kubectl {
  const bin = requireSimTool("kubectl", binFolder);
  return (args, input) => run(bin, [`--kubeconfig=${kubeconfig}`, ...args], input === undefined ? {} : { input });
}
