// The router renderer: README.md (for humans), opnsense-api.json (to apply), frr.conf and
// nftables.conf (the Linux forms the lab runs unchanged) — all from one plan.
import type { KtswConfig } from "../../config/schema.ts";
import { renderNftables } from "../../network/nftables.ts";
import { renderRouterFrr, routerBgpPlan } from "../../network/router-bgp.ts";
import { opnsenseApiPayload } from "./opnsense-api.ts";
import { renderRouterReadme } from "./readme.ts";

export const routerDir = "infrastructure/router";

export function renderRouter(config: KtswConfig): Record<string, string> {
  const plan = routerBgpPlan(config);
  const api = opnsenseApiPayload(config, plan);
  return {
    [`${routerDir}/README.md`]: renderRouterReadme(config, plan, api),
    [`${routerDir}/opnsense-api.json`]: `${JSON.stringify(api, null, 2)}\n`,
    [`${routerDir}/frr.conf`]: renderRouterFrr(plan),
    [`${routerDir}/nftables.conf`]: renderNftables(config),
  };
}
