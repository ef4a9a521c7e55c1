import { readFile } from "node:fs/promises";
import { parseConfig } from "../../src/config/load.ts";
import type { KtswConfig } from "../../src/config/schema.ts";

export const repoRoot = new URL("../../../../", import.meta.url).pathname;

export async function siteText(): Promise<string> {
  return readFile(`${repoRoot}ktsw.yaml`, "utf8");
}

export function mustParse(text: string): KtswConfig {
  const { config, findings } = parseConfig(text);
  if (!config) throw new Error(findings.map((f) => `${f.path}: ${f.message}`).join("\n"));
  return config;
}
