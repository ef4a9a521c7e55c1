// Shared by the render tests: the real example config and the valid fixtures, loaded as a user's
// would be.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type KtswConfig, loadConfig } from "../../src/config/index.ts";

export const repoRoot = join(import.meta.dirname, "..", "..", "..", "..");
const validFixtures = join(import.meta.dirname, "..", "config", "fixtures", "valid");

export async function load(file: string): Promise<KtswConfig> {
  const { config, findings } = await loadConfig(file);
  if (!config) throw new Error(`${file} does not load: ${JSON.stringify(findings)}`);
  return config;
}

export const exampleConfig = () => load(join(repoRoot, "ktsw.yaml"));

/** The example plus every valid fixture (single node, pfSense, ...), so renderers meet more than one shape. */
export async function allValidConfigs(): Promise<[string, KtswConfig][]> {
  const names = readdirSync(validFixtures).filter((f) => f.endsWith(".yaml"));
  const fixtures = await Promise.all(
    names.map(async (n): Promise<[string, KtswConfig]> => [n, await load(join(validFixtures, n))]),
  );
  return [["ktsw.yaml", await exampleConfig()], ...fixtures];
}
