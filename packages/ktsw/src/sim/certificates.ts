// The sim's stand-in for cert-manager's issuing: cert-manager's controller cannot run here (its main is the nested
// module github.com/cert-manager/cert-manager/cmd/controller, which the Go module proxy does not serve), and without it
// no Certificate of the tree gets its Secret: the linkerd HelmRelease, for one, reads its trust anchor from the
// linkerd-identity-issuer Secret. So the sim issues, with openssl, what cert-manager would issue from its own
// in-cluster issuers (selfSigned and ca), writes the Secret cert-manager would write and sets the Certificate's status
// as cert-manager would, saying it was the stand-in. Each issue is printed; every Certificate it cannot issue is
// printed once with why, and says so in its Ready condition. Called before every reading while the tree converges.
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../lab/net/shell.ts";
import { requireTool } from "../tools/find.ts";
import {
  type Certificate,
  type CertificatePlan,
  certificateId,
  clusterResourceNamespace,
  type Issuer,
  planCertificates,
  type Secret,
  secretKey,
} from "./certificates-plan.ts";
import {
  type CertificateRequest,
  certificateRequest,
  chainAndCa,
  issuedSecret,
  issuedStatus,
  type KeySpec,
  notIssuedStatus,
  readyMessage,
  signatureDigest,
} from "./certificates-request.ts";
import { signCsr } from "./certs.ts";
import type { Kubectl } from "./kubectl.ts";

const missingKind = /doesn't have a resource type|the server could not find the requested resource/;

/** The items of a kind across namespaces; none while its CRD is not installed. */
async function list<T>(kubectl: Kubectl, resource: string, extra: string[] = []): Promise<T[]> {
  try {
    return (JSON.parse(await kubectl(["get", resource, "-A", "-o", "json", ...extra])).items ?? []) as T[];
  } catch (err) {
    if (missingKind.test((err as Error).message)) return [];
    throw err;
  }
}

function newKey(key: KeySpec): string {
  const { privateKey } =
    key.type === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: key.modulusLength })
      : key.type === "ec"
        ? generateKeyPairSync("ec", { namedCurve: key.namedCurve })
        : generateKeyPairSync("ed25519");
  return String(privateKey.export({ type: key.encoding, format: "pem" }));
}

const decode = (s: Secret | undefined, key: string) => Buffer.from(s?.data?.[key] ?? "", "base64").toString();

/** Issues one Certificate with openssl in `folder`: its Secret and its validity. */
async function issue(
  plan: Extract<CertificatePlan, { action: "issue" }>,
  request: CertificateRequest,
  secrets: ReadonlyMap<string, Secret>,
  folder: string,
) {
  const files = (name: string) => join(folder, name);
  const namespace = plan.certificate.metadata.namespace ?? "default";
  const existing = secrets.get(secretKey({ namespace, name: plan.certificate.spec?.secretName ?? "" }));
  // rotationPolicy Never: a reissued certificate keeps the key in the Secret (the trust anchor's renewal must still
  // verify what it signed); Always, the default since cert-manager 1.18, makes a new one each time.
  const rotation = (plan.certificate.spec?.privateKey as { rotationPolicy?: string } | undefined)?.rotationPolicy;
  const tlsKey = (rotation === "Never" && decode(existing, "tls.key")) || newKey(request.key);
  await writeFile(files("tls.key"), tlsKey, { mode: 0o600 });
  await run(requireTool("openssl"), [
    "req",
    "-new",
    "-key",
    files("tls.key"),
    "-subj",
    request.subject,
    "-out",
    files("csr"),
  ]);
  const ca = "caSecret" in plan.signer ? secrets.get(secretKey(plan.signer.caSecret)) : undefined;
  const signerKey = ca ? decode(ca, "tls.key") : tlsKey;
  const details = createPrivateKey(signerKey);
  const digest = signatureDigest({
    type: details.asymmetricKeyType,
    bits: details.asymmetricKeyDetails?.modulusLength,
    curve: details.asymmetricKeyDetails?.namedCurve,
  });
  let signer: { cert: string; key: string } | { selfSignedKey: string } = { selfSignedKey: files("tls.key") };
  if (ca) {
    // The ca issuer signs with the first certificate of the CA Secret's tls.crt.
    await writeFile(files("ca.crt"), decode(ca, "tls.crt"));
    await writeFile(files("ca.key"), signerKey, { mode: 0o600 });
    signer = { cert: files("ca.crt"), key: files("ca.key") };
  }
  await signCsr({
    name: "sign",
    folder,
    csr: files("csr"),
    cert: files("tls.crt"),
    signer,
    extensions: request.extensions,
    notBefore: request.notBefore,
    notAfter: request.notAfter,
    ...(digest ? { digest } : {}),
  });
  const certificate = await readFile(files("tls.crt"), "utf8");
  const { tlsCrt, caCrt } = chainAndCa(certificate, ca ? [decode(ca, "tls.crt"), decode(ca, "ca.crt")] : []);
  return issuedSecret(plan.certificate, { tlsCrt, tlsKey, caCrt }, existing?.type);
}

const patchStatus = (kubectl: Kubectl, c: Certificate, patch: object) =>
  kubectl([
    "patch",
    "certificates.cert-manager.io",
    "-n",
    c.metadata.namespace ?? "default",
    c.metadata.name ?? "",
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify(patch),
  ]);

export interface IssueOptions {
  /** Where ClusterIssuers' CA Secrets live; default: read from the cluster's cert-manager HelmRelease. */
  clusterResourceNamespace?: string;
  now?: () => Date;
}

/**
 * Issues every Certificate the stand-in can issue now, chains in order within one call (a root CA, then what its
 * issuer signs), and prints each; an issued one (Secret with its key pair, Ready for its spec) is left alone. Each
 * Certificate it cannot issue is printed once with why (its Ready message records that it was said). The lines
 * printed are returned.
 */
export async function issueCertificates(
  kubectl: Kubectl,
  progress: (line: string) => void,
  options: IssueOptions = {},
): Promise<string[]> {
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    progress(line);
  };
  const now = options.now ?? (() => new Date());
  const certificates = await list<Certificate>(kubectl, "certificates.cert-manager.io");
  if (certificates.length === 0) return lines;
  const [issuers, clusterIssuers, releases, secretList] = await Promise.all([
    list<Issuer>(kubectl, "issuers.cert-manager.io"),
    list<Issuer>(kubectl, "clusterissuers.cert-manager.io"),
    options.clusterResourceNamespace
      ? []
      : list<Record<string, unknown>>(kubectl, "helmreleases.helm.toolkit.fluxcd.io"),
    // Helm's release records are the big Secrets and never a certificate's.
    list<Secret>(kubectl, "secrets", ["--field-selector=type!=helm.sh/release.v1"]),
  ]);
  const secrets = new Map(
    secretList.map((s) => [secretKey({ namespace: s.metadata.namespace ?? "", name: s.metadata.name ?? "" }), s]),
  );
  const input = {
    certificates,
    issuers,
    clusterIssuers,
    secrets: secretList,
    clusterResourceNamespace: options.clusterResourceNamespace ?? clusterResourceNamespace(releases),
  };
  const folder = await mkdtemp(join(tmpdir(), "ktsw-sim-certificates-"));
  try {
    // Each pass issues what can be issued now; what it issued lets the next pass issue what it signs.
    for (let pass = 0; pass <= certificates.length; pass++) {
      const plans = planCertificates({ ...input, secrets: [...secrets.values()] });
      const ready = plans.filter((p): p is Extract<CertificatePlan, { action: "issue" }> => p.action === "issue");
      const rejected = ready.flatMap((p) => {
        const request = certificateRequest(p.certificate, now(), "selfSigned" in p.signer);
        return "error" in request ? [{ plan: p, reason: request.error }] : [];
      });
      const issuable = ready.filter((p) => !rejected.some((r) => r.plan === p));
      if (issuable.length === 0) {
        const notIssued = [
          ...plans.flatMap((p) =>
            p.action === "wait" || p.action === "cannot" ? [{ plan: p, reason: p.reason }] : [],
          ),
          ...rejected,
        ];
        for (const { plan, reason } of notIssued) {
          const patch = notIssuedStatus(plan.certificate, reason, now());
          if (readyMessage(plan.certificate) === patch.status.conditions[0]?.message) continue;
          await patchStatus(kubectl, plan.certificate, patch);
          say(
            `not issuing Certificate ${certificateId(plan.certificate)} by the sim's stand-in for cert-manager: ${reason}`,
          );
        }
        return lines;
      }
      for (const plan of issuable) {
        const request = certificateRequest(plan.certificate, now(), "selfSigned" in plan.signer) as CertificateRequest;
        const work = await mkdtemp(join(folder, "certificate-"));
        const secret = await issue(plan, request, secrets, work);
        await rm(work, { recursive: true, force: true });
        await kubectl(
          ["apply", "--server-side", "--force-conflicts", "--field-manager=ktsw-sim-cert-manager", "-f", "-"],
          JSON.stringify(secret),
        );
        const status = issuedStatus(plan.certificate, request, now());
        await patchStatus(kubectl, plan.certificate, status);
        secrets.set(
          secretKey({ namespace: secret.metadata.namespace ?? "", name: secret.metadata.name ?? "" }),
          secret,
        );
        plan.certificate.status = { ...plan.certificate.status, ...status.status };
        say(
          `issued Certificate ${certificateId(plan.certificate)} (secret ${secret.metadata.name}) by the sim's stand-in for cert-manager: signed by ${plan.issuer}, valid until ${status.status.notAfter}`,
        );
      }
    }
    return lines;
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
