// The lab built from a repository: its ktsw.yaml, committed router files and MetalLB CRs, with every
// BGP peer Established. What `ktsw lab net up|test` and the lab's test start from.
import type { KtswConfig } from "../../config/schema.ts";
import { durationSeconds } from "../../network/metallb-crs.ts";
import { waitForSessions } from "./checks.ts";
import { labConfigs } from "./configs.ts";
import { loadSite, readMetallbCrs, readRenderedRouter } from "./inputs.ts";
import { type Lab, labUp } from "./lab.ts";

/** Assumed when the BGPPeer sets no holdTime (the common 60/180 s BGP timers). */
const defaultHoldSeconds = 180;

export interface SiteLab {
  root: string;
  config: KtswConfig;
  lab: Lab;
  /** The BGPPeer's hold time: how long a silent failure goes unnoticed without BFD. */
  holdSeconds: number;
}

export async function startSiteLab(root: string, log: (line: string) => void = () => {}): Promise<SiteLab> {
  const config = await loadSite(root);
  const crs = await readMetallbCrs(root, config);
  const hold = crs.peers[0]?.holdTime;
  const lab = await labUp(config, labConfigs(config, crs, await readRenderedRouter(root)), log);
  await waitForSessions(lab);
  return { root, config, lab, holdSeconds: hold ? durationSeconds(hold) : defaultHoldSeconds };
}
