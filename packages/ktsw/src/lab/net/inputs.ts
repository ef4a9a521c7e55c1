// What the lab runs, read from the repository: the rendered router files (unchanged) and the
// MetalLB CRs with Flux's `${VAR}` substitution from the cluster settings.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig } from "../../config/load.ts";
import type { KtswConfig } from "../../config/schema.ts";
import { type MetallbCrs, parseMetallbCrs, substituteVariables } from "../../network/metallb-crs.ts";
import { clusterSettingsData } from "../../render/cluster-settings.ts";
import { routerDir } from "../../render/router/index.ts";

export const metallbConfigDir = "kubernetes/networking/metallb/config";

export async function loadSite(root: string): Promise<KtswConfig> {
  const { config, findings } = await loadConfig(join(root, "ktsw.yaml"));
  if (!config) throw new Error(`ktsw.yaml is invalid: ${findings.map((f) => f.message).join("; ")}`);
  return config;
}

export async function readRenderedRouter(root: string): Promise<{ frr: string; nftables: string }> {
  const [frr, nftables] = await Promise.all([
    readFile(join(root, routerDir, "frr.conf"), "utf8"),
    readFile(join(root, routerDir, "nftables.conf"), "utf8"),
  ]);
  return { frr, nftables };
}

export async function readMetallbCrs(root: string, config: KtswConfig): Promise<MetallbCrs> {
  const dir = join(root, metallbConfigDir);
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort();
  if (files.length === 0) throw new Error(`no MetalLB CRs in ${metallbConfigDir}`);
  const vars = clusterSettingsData(config);
  const texts = await Promise.all(
    files.map(async (f) => ({
      file: f,
      text: substituteVariables(await readFile(join(dir, f), "utf8"), vars, join(metallbConfigDir, f)),
    })),
  );
  return parseMetallbCrs(texts);
}
