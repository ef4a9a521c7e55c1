// The configurations a lab run uses. By default: the committed rendered router files, unchanged,
// and each node's FRR config generated from the MetalLB CRs. The benchmark passes variants
// (other BGP timers, other BFD intervals) that go through the very same renderers.
import type { KtswConfig } from "../../config/schema.ts";
import type { MetallbCrs } from "../../network/metallb-crs.ts";
import { renderSpeakerFrr } from "../../network/metallb-frr.ts";
import type { LabConfigs } from "./lab.ts";

export function nodeConfigs(config: KtswConfig, crs: MetallbCrs): Record<string, string> {
  return Object.fromEntries(
    config.nodes.map((n) => [
      n.name,
      renderSpeakerFrr({ hostname: n.name, crs, serviceVips: [config.kubernetes.ingressVip] }),
    ]),
  );
}

export function labConfigs(config: KtswConfig, crs: MetallbCrs, router: { frr: string; nftables: string }): LabConfigs {
  return { routerFrr: router.frr, nftables: router.nftables, nodeFrr: nodeConfigs(config, crs) };
}
