// Which of cert-manager's Certificates the sim's stand-in can issue now. cert-manager's controller cannot run on the
// sim (its main is a nested module the Go module proxy does not serve), so the sim issues what cert-manager would
// from its own issuers that need nothing outside the cluster: selfSigned, and ca (a CA key pair in a Secret). Chains
// (selfSigned -> root CA Certificate -> ca Issuer -> intermediate or leaf) are issued in order: a Certificate whose
// issuer's CA Secret does not exist yet waits for it. Issuers that need the outside world (ACME, Vault, Venafi,
// external issuers) cannot be issued here, and each says why. Pure: objects in, decisions out.
import type { Obj } from "../validate/flux.ts";

export interface Meta {
  name?: string;
  namespace?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** cert-manager.io/v1 Certificate, the fields the stand-in reads. */
export interface Certificate {
  metadata: Meta;
  spec?: {
    secretName?: string;
    issuerRef?: { name?: string; kind?: string; group?: string };
    [field: string]: unknown;
  };
  status?: { conditions?: Condition[]; revision?: number; [field: string]: unknown };
}

/** cert-manager.io/v1 Issuer or ClusterIssuer. */
export interface Issuer {
  kind?: string;
  metadata: Meta;
  spec?: { selfSigned?: object; ca?: { secretName?: string }; [type: string]: unknown };
}

export interface Secret {
  metadata: Meta;
  type?: string;
  data?: Record<string, string>;
}

export interface PlanInput {
  certificates: readonly Certificate[];
  issuers: readonly Issuer[];
  clusterIssuers: readonly Issuer[];
  secrets: readonly Secret[];
  /** Where ClusterIssuers' Secrets live (cert-manager's --cluster-resource-namespace). */
  clusterResourceNamespace: string;
}

export const certManagerGroup = "cert-manager.io";

/** How a Certificate is signed: with its own key, or with the CA key pair in a Secret. */
export type Signer = { selfSigned: true } | { caSecret: { namespace: string; name: string } };

export type CertificatePlan =
  | { certificate: Certificate; action: "issued" }
  | { certificate: Certificate; action: "issue"; issuer: string; signer: Signer }
  | { certificate: Certificate; action: "wait"; reason: string }
  | { certificate: Certificate; action: "cannot"; reason: string };

export const certificateId = (c: { metadata: Meta }) => `${c.metadata.namespace ?? "default"}/${c.metadata.name}`;

/** Spec fields cert-manager supports that the stand-in does not implement: such a Certificate is not issued. */
const notImplemented = ["literalSubject", "keystores", "additionalOutputFormats", "nameConstraints", "otherNames"];

/** Issuer types that need something outside the cluster, and what. */
const outside: Record<string, string> = {
  acme: "an ACME issuer, which needs an ACME server and its DNS-01/HTTP-01 challenges on the internet",
  vault: "a Vault issuer, which needs a HashiCorp Vault server",
  venafi: "a Venafi issuer, which needs a CyberArk (Venafi) Certificate Manager service",
};

export const secretKey = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;

function secretIndex(secrets: readonly Secret[]): Map<string, Secret> {
  return new Map(
    secrets.map((s) => [secretKey({ namespace: s.metadata.namespace ?? "default", name: s.metadata.name ?? "" }), s]),
  );
}

/** A Secret holding a key pair: what a Certificate leaves, and what a ca issuer signs with. */
export const holdsKeyPair = (s: Secret | undefined) => Boolean(s?.data?.["tls.crt"] && s.data["tls.key"]);

/** Issued and current: its Secret holds the key pair and it is Ready for its present spec (generation). */
export function isIssued(c: Certificate, secrets: ReadonlyMap<string, Secret>): boolean {
  const namespace = c.metadata.namespace ?? "default";
  const secret = secrets.get(secretKey({ namespace, name: c.spec?.secretName ?? "" }));
  const ready = (c.status?.conditions ?? []).find((x) => x.type === "Ready");
  const current = ready?.observedGeneration === undefined || ready.observedGeneration === c.metadata.generation;
  return holdsKeyPair(secret) && ready?.status === "True" && current;
}

export function planCertificates(input: PlanInput): CertificatePlan[] {
  const secrets = secretIndex(input.secrets);
  const find = (list: readonly Issuer[], name: string, namespace?: string) =>
    list.find((i) => i.metadata.name === name && (namespace === undefined || i.metadata.namespace === namespace));
  return input.certificates.map((certificate): CertificatePlan => {
    if (isIssued(certificate, secrets)) return { certificate, action: "issued" };
    const cannot = (reason: string): CertificatePlan => ({ certificate, action: "cannot", reason });
    const namespace = certificate.metadata.namespace ?? "default";
    const ref = certificate.spec?.issuerRef ?? {};
    const group = ref.group || certManagerGroup;
    const kind = ref.kind || "Issuer";
    if (!certificate.spec?.secretName) return cannot("spec.secretName is not set");
    const unimplemented = notImplemented.filter((f) => certificate.spec?.[f] !== undefined);
    if (unimplemented.length > 0)
      return cannot(
        `it sets ${unimplemented.map((f) => `spec.${f}`).join(", ")}, which the stand-in does not implement`,
      );
    if (group !== certManagerGroup)
      return cannot(`its issuer ${kind} ${ref.name} is an external issuer (group ${group}), run by its own controller`);
    if (kind !== "Issuer" && kind !== "ClusterIssuer")
      return cannot(`issuerRef.kind ${kind} is not Issuer or ClusterIssuer`);
    const issuer =
      kind === "Issuer" ? find(input.issuers, ref.name ?? "", namespace) : find(input.clusterIssuers, ref.name ?? "");
    const issuerId = kind === "Issuer" ? `Issuer ${namespace}/${ref.name}` : `ClusterIssuer ${ref.name}`;
    if (!issuer) return { certificate, action: "wait", reason: `${issuerId} does not exist yet` };
    const spec = issuer.spec ?? {};
    if (spec.selfSigned) return { certificate, action: "issue", issuer: issuerId, signer: { selfSigned: true } };
    if (spec.ca) {
      const caSecret = {
        namespace: kind === "Issuer" ? namespace : input.clusterResourceNamespace,
        name: spec.ca.secretName ?? "",
      };
      if (!holdsKeyPair(secrets.get(secretKey(caSecret))))
        return {
          certificate,
          action: "wait",
          reason: `the CA Secret ${secretKey(caSecret)} of ${issuerId} does not hold a key pair yet`,
        };
      return { certificate, action: "issue", issuer: issuerId, signer: { caSecret } };
    }
    const type = Object.keys(spec).find((t) => t in outside);
    if (type) return cannot(`its ${issuerId} is ${outside[type]}`);
    return cannot(
      `its ${issuerId} has no issuer type the stand-in knows (${Object.keys(spec).join(", ") || "empty spec"})`,
    );
  });
}

/** The namespace cert-manager keeps ClusterIssuers' Secrets in, from the tree's cert-manager HelmRelease: the chart's
 *  `clusterResourceNamespace`, else the namespace the chart installs into (its `namespace` value, else the release's). */
export function clusterResourceNamespace(helmReleases: readonly Obj[]): string {
  const release = helmReleases.find(
    (r) => (r.spec as { chart?: { spec?: { chart?: string } } } | undefined)?.chart?.spec?.chart === "cert-manager",
  );
  if (!release) return "cert-manager";
  const spec = release.spec as { values?: Record<string, unknown>; targetNamespace?: string };
  const value = (key: string) => {
    const v = spec.values?.[key];
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  return (
    value("clusterResourceNamespace") ??
    value("namespace") ??
    spec.targetNamespace ??
    (release.metadata as Meta | undefined)?.namespace ??
    "default"
  );
}
