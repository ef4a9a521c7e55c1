// The one SOPS check of a repository, for `ktsw secrets check` and `ktsw validate` alike: reads
// .sops.yaml and every *.sops.yaml, and checks them against ktsw.yaml's age recipients.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Finding } from "../diagnostics.ts";
import { cacheKey, fileDigest, readCached, writeCached } from "../validate/disk-cache.ts";
import { checkEncryptedFile, checkSopsConfig, missingSopsConfig, SOPS_CONFIG_FILE } from "./check.ts";
import { listSopsFiles } from "./files.ts";

export interface RepositorySops {
  /** Every *.sops.yaml, relative to the root. */
  files: string[];
  findings: Finding[];
}

/** The checks' code: a kept result is for the code that made it. */
const CHECK_CODE = fileURLToPath(new URL("./check.ts", import.meta.url));

/** `cacheDir`: each file's findings kept there by its name, text and the recipients (parsing every encrypted file
 *  on every `validate` cost more than the rest of this check). */
export async function checkRepositorySops(
  root: string,
  recipients: readonly string[],
  cacheDir?: string,
): Promise<RepositorySops> {
  const config = join(root, SOPS_CONFIG_FILE);
  const findings = existsSync(config)
    ? checkSopsConfig(SOPS_CONFIG_FILE, readFileSync(config, "utf8"), recipients)
    : [missingSopsConfig()];
  const files = await listSopsFiles(root);
  for (const file of files) {
    const text = readFileSync(join(root, file), "utf8");
    const key = cacheDir ? `${cacheKey([fileDigest(CHECK_CODE), file, recipients], text)}.json` : "";
    const kept = cacheDir ? readCached(cacheDir, key) : undefined;
    const found = kept !== undefined ? (JSON.parse(kept) as Finding[]) : checkEncryptedFile(file, text, recipients);
    if (cacheDir && kept === undefined) writeCached(cacheDir, key, JSON.stringify(found));
    findings.push(...found);
  }
  return { files, findings };
}
