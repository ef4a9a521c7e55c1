// The one SOPS check of a repository, for `ktsw secrets check` and `ktsw validate` alike: reads
// .sops.yaml and every *.sops.yaml, and checks them against ktsw.yaml's age recipients.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Finding } from "../diagnostics.ts";
import { checkEncryptedFile, checkSopsConfig, missingSopsConfig, SOPS_CONFIG_FILE } from "./check.ts";
import { listSopsFiles } from "./files.ts";

export interface RepositorySops {
  /** Every *.sops.yaml, relative to the root. */
  files: string[];
  findings: Finding[];
}

export async function checkRepositorySops(root: string, recipients: readonly string[]): Promise<RepositorySops> {
  const config = join(root, SOPS_CONFIG_FILE);
  const findings = existsSync(config)
    ? checkSopsConfig(SOPS_CONFIG_FILE, readFileSync(config, "utf8"), recipients)
    : [missingSopsConfig()];
  const files = await listSopsFiles(root);
  for (const file of files)
    findings.push(...checkEncryptedFile(file, readFileSync(join(root, file), "utf8"), recipients));
  return { files, findings };
}
