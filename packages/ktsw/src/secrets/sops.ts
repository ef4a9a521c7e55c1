// Thin shells around the real `sops` and `age-keygen`: encryption is never re-implemented here.
// sops finds its rules in the repository's .sops.yaml (creation_rules) and the private key through
// SOPS_AGE_KEY_FILE (or its default ~/.config/sops/age/keys.txt).
import { execFile } from "node:child_process";
import { requireTool } from "../tools/find.ts";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  bin: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      bin,
      [...args],
      { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

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
