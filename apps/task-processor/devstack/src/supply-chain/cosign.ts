import { join } from "node:path";
import { type RunResult, run } from "@ktsw/cli/run";
import { requireTool } from "@ktsw/cli/tools";

// The real cosign (v2, deps/go-tools.txt) with a key pair and no public-good infrastructure: nothing goes to Rekor
// (the transparency log) or Fulcio (keyless certificates), so signing and verifying work offline, as on a homelab
// whose pipeline signs with the site's own key. The flags that make it so are here once, for the proof and for
// anyone reading how the pipeline and the admission check must agree (kubernetes/platform/ratify/README.md).

/** `cosign sign` offline: no transparency-log upload; `--yes` answers the upload confirmation prompt. */
export const SIGN_FLAGS = ["--tlog-upload=false", "--yes"] as const;

/** `cosign verify` of such a signature: there is no log entry to check, so the log check is skipped, not failed. */
export const VERIFY_FLAGS = ["--insecure-ignore-tlog=true"] as const;

export interface KeyPair {
  /** the encrypted private key (cosign.key format) */
  key: string;
  /** the PEM public key that verifiers trust */
  pub: string;
  password: string;
}

/** A key pair in `dir`: `<name>.key` encrypted with `password`, `<name>.pub`. */
export async function generateKeyPair(dir: string, name: string, password: string): Promise<KeyPair> {
  const prefix = join(dir, name);
  const res = await run(requireTool("cosign"), ["generate-key-pair", "--output-key-prefix", prefix], {
    env: { COSIGN_PASSWORD: password },
  });
  if (res.code !== 0) throw new Error(`cosign generate-key-pair failed (exit ${res.code}): ${res.stderr.trim()}`);
  return { key: `${prefix}.key`, pub: `${prefix}.pub`, password };
}

/** Signs `ref` (by digest: a tag could move between resolving and signing) and pushes the signature. */
export async function sign(ref: string, keys: KeyPair): Promise<void> {
  const res = await run(requireTool("cosign"), ["sign", "--key", keys.key, ...SIGN_FLAGS, ref], {
    env: { COSIGN_PASSWORD: keys.password },
  });
  if (res.code !== 0) throw new Error(`cosign sign ${ref} failed (exit ${res.code}): ${res.stderr.trim()}`);
}

/** `cosign verify` of `ref` against a public key: exit 0 and the verified payloads on stdout, or the refusal. */
export function verify(ref: string, pub: string): Promise<RunResult> {
  return run(requireTool("cosign"), ["verify", "--key", pub, ...VERIFY_FLAGS, ref]);
}
