import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "@ktsw/cli/run";
import { requireTool } from "@ktsw/cli/tools";

// Ratify's own verification, run as its CLI (`ratify verify`, built from its Go module at the release the chart in
// kubernetes/platform/ratify deploys) with a configuration equivalent to what that chart renders into the cluster:
// the ORAS store finding cosign signatures by their `.sig` tag, the cosign verifier trusting the site's public key
// with no transparency log, and the config policy requiring every verifier report to pass.
//
// The cosign verifier has two configurations. "key" (one public key file; the chart's `cosign.key`) checks the
// signed payload's claim, the digest it names, against the image (cosign's SimpleClaimVerifier). "trustPolicies"
// (the chart's `cosignKeys`, scoped) does not set a claim verifier in Ratify v1.4.0: a valid signature of another
// image, copied to this image's `.sig` tag, passes. The tree therefore uses "key"; the proof runs both.

/** The cosign signature's artifact type, as Ratify's store reports it and its verifier claims it. */
export const COSIGN_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json";

export interface RatifyOptions {
  /** how the cosign verifier is told the key: "key" as the tree deploys it, "trustPolicies" to show its gap */
  mode: "key" | "trustPolicies";
  /** image prefixes the trust policy covers, each ending in `*` (the chart's cosign.scopes; trustPolicies only) */
  scopes: string[];
  /** plain HTTP to the registry (a loopback test registry; Harbor is HTTPS) */
  useHttp: boolean;
}

/** The cosign verifier's entry (pure): the site's key, no transparency log (signed with --tlog-upload=false). */
function cosignVerifier(publicKeyFile: string, opts: RatifyOptions) {
  const common = { name: "cosign", artifactTypes: COSIGN_ARTIFACT_TYPE };
  // "key" without rekorURL: Ratify skips the transparency log.
  if (opts.mode === "key") return { ...common, key: publicKeyFile };
  return {
    ...common,
    trustPolicies: [
      { name: "default", version: "1.0.0", scopes: opts.scopes, keys: [{ file: publicKeyFile }], tLogVerify: false },
    ],
  };
}

/** The CLI's config.json (pure). */
export function ratifyConfig(publicKeyFile: string, opts: RatifyOptions & { cacheDir: string }) {
  return {
    store: {
      version: "1.0.0",
      plugins: [{ name: "oras", useHttp: opts.useHttp, cosignEnabled: true, localCachePath: opts.cacheDir }],
    },
    policy: {
      version: "1.0.0",
      // The chart's Policy: config-policy, default "all" (every report of every artifact must succeed, and an
      // image with no signature at all has no report, which fails).
      plugin: { name: "configPolicy", artifactVerificationPolicies: { default: "all" } },
    },
    verifier: { version: "1.0.0", plugins: [cosignVerifier(publicKeyFile, opts)] },
  };
}

export interface RatifyAnswer {
  /** Ratify's overall verdict (what its Gatekeeper provider hands the policy) */
  isSuccess: boolean;
  /** the whole JSON answer, for failure messages */
  raw: string;
}

/** Runs `ratify verify` on `subject` in `dir` (its config and cache live there) and returns its verdict. */
export async function ratifyVerify(
  subject: string,
  publicKeyFile: string,
  dir: string,
  opts: RatifyOptions,
): Promise<RatifyAnswer> {
  await mkdir(join(dir, "cache"), { recursive: true });
  const config = join(dir, "config.json");
  await writeFile(config, JSON.stringify(ratifyConfig(publicKeyFile, { ...opts, cacheDir: join(dir, "cache") })));
  // RATIFY_CONFIG and HOME: its plugin folder and defaults under the temp dir, never the user's ~/.ratify.
  const res = await run(requireTool("ratify"), ["verify", "--config", config, "--subject", subject], {
    env: { RATIFY_CONFIG: dir, HOME: dir },
  });
  if (res.code !== 0) throw new Error(`ratify verify ${subject} failed (exit ${res.code}): ${res.stderr.trim()}`);
  // Its VerifyResult marshals isSuccess with omitempty: a refusal has no isSuccess, only verifierReports.
  const answer = JSON.parse(res.stdout) as { isSuccess?: unknown; verifierReports?: unknown };
  if (answer.isSuccess === undefined && !Array.isArray(answer.verifierReports))
    throw new Error(`ratify verify ${subject}: neither a verdict nor reports in its answer: ${res.stdout}`);
  return { isSuccess: answer.isSuccess === true, raw: res.stdout };
}
