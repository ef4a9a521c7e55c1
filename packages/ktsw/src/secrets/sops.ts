// Thin shells around the real `sops` and `age-keygen`: encryption is never re-implemented here.
// sops finds its rules in the repository's .sops.yaml (creation_rules) and the private key through
// SOPS_AGE_KEY_FILE (or its default ~/.config/sops/age/keys.txt).

import { requireTool } from "../tools/find.ts";
import { type RunResult, run } from "../tools/run.ts";

export type { RunResult };

function keyEnv(keyFile: string | undefined): NodeJS.ProcessEnv {
  return keyFile ? { SOPS_AGE_KEY_FILE: keyFile } : {};
}

/** Encrypts a file in place with the repository's .sops.yaml rules. */
export async function sopsEncryptInPlace(root: string, file: string): Promise<RunResult> {
  return run(requireTool("sops"), ["--encrypt", "--in-place", file], { cwd: root });
}

/** Decrypted text of a SOPS file (nothing is written to disk). */
export async function sopsDecrypt(root: string, file: string, keyFile?: string): Promise<RunResult> {
  return run(requireTool("sops"), ["--decrypt", file], { cwd: root, env: keyEnv(keyFile) });
}

/** Creates an age identity file; returns its public recipient (age1...). */
export async function ageKeygen(outFile: string): Promise<string> {
  const res = await run(requireTool("age-keygen"), ["-o", outFile]);
  if (res.code !== 0) throw new Error(`age-keygen failed: ${res.stderr.trim()}`);
  const m = /age1[0-9a-z]+/.exec(res.stderr + res.stdout);
  if (!m) throw new Error("age-keygen printed no public key");
  return m[0];
}

/** The public recipient of an existing age identity file. */
export async function ageRecipientOf(keyFile: string): Promise<string> {
  const res = await run(requireTool("age-keygen"), ["-y", keyFile]);
  if (res.code !== 0) throw new Error(`age-keygen -y ${keyFile} failed: ${res.stderr.trim()}`);
  return res.stdout.trim();
}
