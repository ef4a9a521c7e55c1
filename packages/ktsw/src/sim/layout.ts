// Where one simulated cluster keeps everything: a single state folder, so `down` (or a failed `up`) removes all of it
// and two sims in two folders never share a file. Pure: names only, nothing is created here.
import { join } from "node:path";

export interface SimLayout {
  dir: string;
  /** What `up` started (processes, ports, paths); `down` and `status` read it. Written last, once all is up. */
  state: string;
  /** The admin kubeconfig `up` prints: kubectl, the controllers and kwok all use it. */
  kubeconfig: string;
  certs: string;
  etcdData: string;
  logs: string;
  /** The control-plane policy files ktsw renders for the k3s servers, written here for the sim's API server. */
  admissionConfig: string;
  auditPolicy: string;
  /** The kwok Nodes made from ktsw.yaml, as applied. */
  nodes: string;
  /** source-controller's artifact storage (the fetched tree and charts). */
  fluxArtifacts: string;
  /** The Flux controllers' temporary folder (their builds and chart downloads), inside the state folder. */
  fluxTmp: string;
  /** The bare git repositories the sources server serves: the tree's snapshot and the offline upstream copies. */
  gitRepos: string;
}

export function simLayout(dir: string): SimLayout {
  return {
    dir,
    state: join(dir, "state.json"),
    kubeconfig: join(dir, "kubeconfig"),
    certs: join(dir, "certs"),
    etcdData: join(dir, "etcd"),
    logs: join(dir, "logs"),
    admissionConfig: join(dir, "admission-config.yaml"),
    auditPolicy: join(dir, "audit-policy.yaml"),
    nodes: join(dir, "nodes.yaml"),
    fluxArtifacts: join(dir, "flux", "artifacts"),
    fluxTmp: join(dir, "flux", "tmp"),
    gitRepos: join(dir, "git"),
  };
}

/** The default state folder, beside the build cache (git-ignored). */
export const defaultSimDir = ".cache/ktsw/sim/state";
