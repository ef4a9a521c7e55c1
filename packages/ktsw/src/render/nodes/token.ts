// The k3s join tokens are secrets; they must never be committed. There are two, because k3s' server
// token is full admin of the cluster (it decrypts the bootstrap data: CA keys, the secrets-encryption
// key): only servers hold it. Workers hold the agent token, which joins agents and nothing else.
//
// The rendered user-data carries placeholders instead. Two ways to fill them, both documented in
// infrastructure/nodes/README.md:
//  1. the OpenTofu module replaces them from the sensitive variables `k3s_token` and
//     `k3s_agent_token` (TF_VAR_k3s_token, TF_VAR_k3s_agent_token) when it uploads the snippet, or
//  2. the operator writes the tokens over SSH and re-runs the installer.
// The installer refuses to run while a placeholder is still there, so a forgotten step fails
// loudly on the node instead of bootstrapping a cluster with a guessable token.
import type { KtswConfig, KtswNode } from "../../config/schema.ts";

export const k3sTokenPlaceholder = "__KTSW_K3S_TOKEN__";
export const k3sAgentTokenPlaceholder = "__KTSW_K3S_AGENT_TOKEN__";

export const tokenPaths = {
  /** What this node joins with: the server token on servers, the agent token on agents. */
  join: "/etc/rancher/k3s/token",
  /** Servers only: the agent token they accept (k3s wants it set on every server). */
  agent: "/etc/rancher/k3s/agent-token",
} as const;

export interface TokenFile {
  path: string;
  /** The file's content as committed: a placeholder, possibly inside k3s' secure K10 form. */
  content: string;
  placeholder: string;
}

/** k3s' secure token form, K10<CA hash>::<user>:<password>: the joining node checks the CA the
 * server presents against the hash before it sends the password. The user is the one k3s itself
 * writes into its token files ("server" for the server token, "node" for the agent token). */
export function secureToken(caHash: string, user: "server" | "node", password: string): string {
  return `K10${caHash}::${user}:${password}`;
}

/** The token files of one node. `joins` says whether the node joins an existing server (rather
 * than initialising etcd): only a joining node can check a CA hash, and only once it is known. */
export function tokenFiles(c: KtswConfig, node: KtswNode, joins: boolean): TokenFile[] {
  const caHash = c.kubernetes.clusterCaHash;
  const joinForm = (user: "server" | "node", placeholder: string) =>
    joins && caHash ? secureToken(caHash, user, placeholder) : placeholder;
  if (node.role === "worker") {
    return [
      {
        path: tokenPaths.join,
        content: `${joinForm("node", k3sAgentTokenPlaceholder)}\n`,
        placeholder: k3sAgentTokenPlaceholder,
      },
    ];
  }
  return [
    {
      path: tokenPaths.join,
      content: `${joinForm("server", k3sTokenPlaceholder)}\n`,
      placeholder: k3sTokenPlaceholder,
    },
    // The short form: the server only compares the password (k3s normalises either form).
    { path: tokenPaths.agent, content: `${k3sAgentTokenPlaceholder}\n`, placeholder: k3sAgentTokenPlaceholder },
  ];
}
