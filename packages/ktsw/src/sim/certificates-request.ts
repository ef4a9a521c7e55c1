// What cert-manager v1.21 would put in a Certificate's X.509 certificate, Secret and status, read field by field from
// its spec (pkg/util/pki: GenerateCSR, CertificateTemplateFromCSR, KeyUsagesForCertificateOrCertificateRequest,
// GeneratePrivateKeyForCertificate, EncodePrivateKey, ParseSingleCertificateChain; the issuing and readiness
// controllers), for the sim's stand-in to issue with openssl. Pure, but for parsing certificates with node:crypto.
import { X509Certificate } from "node:crypto";
import type { Certificate, Condition, Secret } from "./certificates-plan.ts";

/** spec.usages as cert-manager names them -> openssl's names: key usages, then extended key usages. */
const keyUsages: Record<string, string> = {
  signing: "digitalSignature",
  "digital signature": "digitalSignature",
  "content commitment": "nonRepudiation",
  "key encipherment": "keyEncipherment",
  "key agreement": "keyAgreement",
  "data encipherment": "dataEncipherment",
  "cert sign": "keyCertSign",
  "crl sign": "cRLSign",
  "encipher only": "encipherOnly",
  "decipher only": "decipherOnly",
};
const extKeyUsages: Record<string, string> = {
  any: "anyExtendedKeyUsage",
  "server auth": "serverAuth",
  "client auth": "clientAuth",
  "code signing": "codeSigning",
  "email protection": "emailProtection",
  "s/mime": "emailProtection",
  "ipsec end system": "ipsecEndSystem",
  "ipsec tunnel": "ipsecTunnel",
  "ipsec user": "ipsecUser",
  timestamping: "timeStamping",
  "ocsp signing": "OCSPSigning",
  "microsoft sgc": "msSGC",
  "netscape sgc": "nsSGC",
};
/** cert-manager's default usages (the Kubernetes API's). */
const defaultUsages = ["digital signature", "key encipherment"];
/** spec.duration's default: 90 days. */
export const defaultDuration = "2160h";

export type KeySpec =
  | { type: "rsa"; modulusLength: number; encoding: "pkcs1" | "pkcs8" }
  | { type: "ec"; namedCurve: "P-256" | "P-384" | "P-521"; encoding: "sec1" | "pkcs8" }
  | { type: "ed25519"; encoding: "pkcs8" };

export interface CertificateRequest {
  /** openssl's -subj form, in the order Go writes a pkix.Name; "/" when empty. */
  subject: string;
  /** Every extension, as openssl.cnf lines. */
  extensions: string[];
  key: KeySpec;
  notBefore: Date;
  notAfter: Date;
}

interface SubjectSpec {
  countries?: string[];
  provinces?: string[];
  localities?: string[];
  streetAddresses?: string[];
  postalCodes?: string[];
  organizations?: string[];
  organizationalUnits?: string[];
  serialNumber?: string;
}

interface CertificateSpec {
  commonName?: string;
  subject?: SubjectSpec;
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  emailAddresses?: string[];
  duration?: string;
  renewBefore?: string;
  renewBeforePercentage?: number;
  isCA?: boolean;
  usages?: string[];
  privateKey?: { algorithm?: string; size?: number; encoding?: string };
  secretTemplate?: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

const specOf = (c: Certificate) => (c.spec ?? {}) as CertificateSpec;

const goUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

/** A Go duration (`48h`, `2160h0m0s`, `1h30m`) in milliseconds; undefined when it is not one. */
export function goDurationMs(text: string): number | undefined {
  if (text === "0") return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * (goUnits[p[2] as string] as number), 0);
}

/** One RDN per attribute (a multi-valued one when it has several values), escaped for -subj. */
function subjectOf(spec: CertificateSpec): string {
  const s = spec.subject ?? {};
  const esc = (v: string) => v.replace(/[\\/+=]/g, (ch) => `\\${ch}`);
  const rdns: [string, string[] | undefined][] = [
    ["C", s.countries],
    ["ST", s.provinces],
    ["L", s.localities],
    ["street", s.streetAddresses],
    ["postalCode", s.postalCodes],
    ["O", s.organizations],
    ["OU", s.organizationalUnits],
    ["CN", spec.commonName ? [spec.commonName] : undefined],
    ["serialNumber", s.serialNumber ? [s.serialNumber] : undefined],
  ];
  const parts = rdns
    .filter(([, values]) => values && values.length > 0)
    .map(([attr, values]) => (values ?? []).map((v) => `${attr}=${esc(v)}`).join("+"));
  return `/${parts.join("/")}`;
}

function keySpec(spec: CertificateSpec): KeySpec | string {
  const pk = spec.privateKey ?? {};
  const pkcs8 = pk.encoding === "PKCS8";
  if (pk.encoding && pk.encoding !== "PKCS1" && !pkcs8)
    return `privateKey.encoding ${pk.encoding} is not PKCS1 or PKCS8`;
  switch (pk.algorithm ?? "RSA") {
    case "RSA": {
      const bits = pk.size || 2048;
      if (bits < 2048 || bits > 8192) return `privateKey.size ${bits} is outside RSA's 2048..8192`;
      return { type: "rsa", modulusLength: bits, encoding: pkcs8 ? "pkcs8" : "pkcs1" };
    }
    case "ECDSA": {
      const curves = { 256: "P-256", 384: "P-384", 521: "P-521" } as const;
      const curve = curves[(pk.size || 256) as keyof typeof curves];
      if (!curve) return `privateKey.size ${pk.size} is not an ECDSA curve (256, 384, 521)`;
      return { type: "ec", namedCurve: curve, encoding: pkcs8 ? "pkcs8" : "sec1" };
    }
    case "Ed25519":
      return { type: "ed25519", encoding: "pkcs8" };
    default:
      return `privateKey.algorithm ${pk.algorithm} is not RSA, ECDSA or Ed25519`;
  }
}

/** The certificate cert-manager would issue for this spec, now; or why it cannot be issued. `selfSigned`: signed
 *  with its own key (no authority key identifier, as Go leaves it out when issuer and subject are the same). */
export function certificateRequest(
  c: Certificate,
  now: Date,
  selfSigned: boolean,
): CertificateRequest | { error: string } {
  const spec = specOf(c);
  const key = keySpec(spec);
  if (typeof key === "string") return { error: key };
  const durationMs = goDurationMs(spec.duration ?? defaultDuration);
  if (durationMs === undefined) return { error: `duration ${spec.duration} is not a Go duration` };
  const usages = spec.usages && spec.usages.length > 0 ? spec.usages : defaultUsages;
  const unknown = usages.filter((u) => !(u in keyUsages) && !(u in extKeyUsages));
  if (unknown.length > 0) return { error: `unknown key usages: ${unknown.join(", ")}` };
  const ku = [...new Set([...(spec.isCA ? ["keyCertSign"] : []), ...usages.flatMap((u) => keyUsages[u] ?? [])])];
  const eku = usages.flatMap((u) => extKeyUsages[u] ?? []);
  const subject = subjectOf(spec);
  const sans = [
    ...(spec.emailAddresses ?? []).map((e) => `email:${e}`),
    ...(spec.dnsNames ?? []).map((d) => `DNS:${d}`),
    ...(spec.uris ?? []).map((u) => `URI:${u}`),
    ...(spec.ipAddresses ?? []).map((i) => `IP:${i}`),
  ];
  if (!spec.commonName && sans.length === 0)
    return { error: "at least one of commonName, dnsNames, emailAddresses, ipAddresses or uris must be set" };
  const extensions = [
    `basicConstraints=critical,CA:${spec.isCA ? "TRUE" : "FALSE"}`,
    // Go writes a key usage extension only when some usage is set (a server-auth-only leaf has none).
    ...(ku.length > 0 ? [`keyUsage=critical,${ku.join(",")}`] : []),
    ...(eku.length > 0 ? [`extendedKeyUsage=${eku.join(",")}`] : []),
    // Critical when the subject is empty (RFC 5280 4.2.1.6), as cert-manager marks it.
    ...(sans.length > 0 ? [`subjectAltName=${subject === "/" ? "critical," : ""}${sans.join(",")}`] : []),
    // Go gives a CA a subject key identifier and a leaf none; the issuer's, when it has one and is another.
    `subjectKeyIdentifier=${spec.isCA ? "hash" : "none"}`,
    ...(selfSigned ? [] : ["authorityKeyIdentifier=keyid"]),
  ];
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return { subject, extensions, key, notBefore, notAfter: new Date(notBefore.getTime() + durationMs) };
}

/** The digest Go signs with for the signer's key (cert-manager's signatureAlgorithmFromPublicKey). */
export function signatureDigest(key: { type?: string; bits?: number; curve?: string }): string | undefined {
  if (key.type === "rsa") return (key.bits ?? 0) >= 4096 ? "sha512" : (key.bits ?? 0) >= 3072 ? "sha384" : "sha256";
  if (key.type === "ec") return key.curve === "secp521r1" ? "sha512" : key.curve === "secp384r1" ? "sha384" : "sha256";
  return undefined;
}

export const pemCertificates = (bundle: string) =>
  bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

/** tls.crt and ca.crt as cert-manager writes them (ParseSingleCertificateChain): the chain from the new certificate
 *  up to, not including, a self-signed root; ca.crt the root (or the highest certificate when there is none). A
 *  self-signed certificate is both. `issuing` is the CA Secret's tls.crt then its ca.crt, as the ca issuer reads it. */
export function chainAndCa(certificatePem: string, issuing: readonly string[]): { tlsCrt: string; caCrt: string } {
  const parsed = [certificatePem, ...issuing.flatMap(pemCertificates)].map((pem) => ({
    pem: `${pem.trim()}\n`,
    x: new X509Certificate(pem),
  }));
  const selfSigned = (c: X509Certificate) => c.checkIssued(c) && c.verify(c.publicKey);
  const path = [parsed[0] as (typeof parsed)[number]];
  for (;;) {
    const cur = path[path.length - 1] as (typeof parsed)[number];
    if (selfSigned(cur.x)) break;
    const up = parsed.find((p) => !path.includes(p) && p.x.raw.compare(cur.x.raw) !== 0 && cur.x.checkIssued(p.x));
    if (!up || !cur.x.verify(up.x.publicKey)) break;
    path.push(up);
  }
  const top = path[path.length - 1] as (typeof parsed)[number];
  const chain = path.length > 1 && selfSigned(top.x) ? path.slice(0, -1) : path;
  return { tlsCrt: chain.map((p) => p.pem).join(""), caCrt: top.pem };
}

/** Go's encoding/csv for one record, as cert-manager joins annotation lists. */
const csv = (values: readonly string[]) =>
  values.map((v) => (/[",\r\n]/.test(v) || v.startsWith(" ") ? `"${v.replace(/"/g, '""')}"` : v)).join(",");

/** The Secret cert-manager's issuing controller applies: kubernetes.io/tls with tls.crt, tls.key and ca.crt, the
 *  secretTemplate's labels and annotations, its own annotations describing the certificate, and its label. */
export function issuedSecret(
  c: Certificate,
  pems: { tlsCrt: string; tlsKey: string; caCrt: string },
  existingType?: string,
): Secret & { apiVersion: string; kind: string } {
  const spec = specOf(c);
  const ref = c.spec?.issuerRef ?? {};
  const s = spec.subject ?? {};
  const list = (key: string, values: readonly string[] | undefined, keepEmpty = false) =>
    values && values.length > 0 ? { [key]: csv(values) } : keepEmpty ? { [key]: "" } : {};
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: c.spec?.secretName ?? "",
      namespace: c.metadata.namespace ?? "default",
      labels: { ...spec.secretTemplate?.labels, "controller.cert-manager.io/fao": "true" },
      annotations: {
        ...spec.secretTemplate?.annotations,
        "cert-manager.io/common-name": spec.commonName ?? "",
        ...(s.serialNumber ? { "cert-manager.io/subject-serialnumber": s.serialNumber } : {}),
        ...list("cert-manager.io/subject-organizations", s.organizations),
        ...list("cert-manager.io/subject-organizationalunits", s.organizationalUnits),
        ...list("cert-manager.io/subject-countries", s.countries),
        ...list("cert-manager.io/subject-provinces", s.provinces),
        ...list("cert-manager.io/subject-localities", s.localities),
        ...list("cert-manager.io/subject-postalcodes", s.postalCodes),
        ...list("cert-manager.io/subject-streetaddresses", s.streetAddresses),
        ...list("cert-manager.io/email-sans", spec.emailAddresses),
        ...list("cert-manager.io/alt-names", spec.dnsNames, true),
        ...list("cert-manager.io/ip-sans", spec.ipAddresses, true),
        ...list("cert-manager.io/uri-sans", spec.uris, true),
        "cert-manager.io/certificate-name": c.metadata.name ?? "",
        "cert-manager.io/issuer-name": ref.name ?? "",
        "cert-manager.io/issuer-kind": ref.kind ?? "",
        "cert-manager.io/issuer-group": ref.group ?? "",
      },
    },
    // The type of a Secret that already exists is kept (it is immutable), as cert-manager keeps it.
    type: existingType ?? "kubernetes.io/tls",
    data: { "tls.crt": b64(pems.tlsCrt), "tls.key": b64(pems.tlsKey), "ca.crt": b64(pems.caCrt) },
  };
}

/** Why the sim, not cert-manager, wrote this status. */
export const standInNote =
  "by the sim's stand-in for cert-manager (cert-manager's controller is not served by the Go module proxy)";

const rfc3339 = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

/** The Ready condition, keeping its last transition time when its status does not change (SetCertificateCondition). */
function readyCondition(
  c: Certificate,
  status: "True" | "False",
  reason: string,
  message: string,
  now: Date,
): Condition {
  const old = (c.status?.conditions ?? []).find((x) => x.type === "Ready");
  return {
    type: "Ready",
    status,
    reason,
    message,
    lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now),
    ...(c.metadata.generation !== undefined ? { observedGeneration: c.metadata.generation } : {}),
  };
}

/** The status once issued (issuing and readiness controllers): the next revision, the certificate's validity, when
 *  cert-manager would renew it (renewBefore, else renewBeforePercentage, else two thirds through), and Ready. The
 *  Issuing condition cert-manager removes on success is not written at all. */
export function issuedStatus(c: Certificate, validity: { notBefore: Date; notAfter: Date }, now: Date) {
  const spec = specOf(c);
  const lifetime = validity.notAfter.getTime() - validity.notBefore.getTime();
  const renewBefore = goDurationMs(spec.renewBefore ?? "") ?? 0;
  const percent = spec.renewBeforePercentage ?? 0;
  const before =
    renewBefore > 0 && renewBefore < lifetime
      ? renewBefore
      : percent > 0 && percent < 100
        ? (lifetime * percent) / 100
        : lifetime / 3;
  const renewal = new Date(Math.floor((validity.notAfter.getTime() - before) / 1000) * 1000);
  return {
    status: {
      conditions: [
        readyCondition(c, "True", "Ready", `Certificate is up to date and has not expired; issued ${standInNote}`, now),
      ],
      notBefore: rfc3339(validity.notBefore),
      notAfter: rfc3339(validity.notAfter),
      renewalTime: rfc3339(renewal),
      revision: (c.status?.revision ?? 0) + 1,
    },
  };
}

/** Ready=False with why the stand-in did not issue it, as cert-manager says so on a Certificate it cannot issue. */
export function notIssuedStatus(c: Certificate, why: string, now: Date) {
  return {
    status: { conditions: [readyCondition(c, "False", "DoesNotExist", `Not issued ${standInNote}: ${why}`, now)] },
  };
}

/** The Ready message a Certificate carries now, to tell a new reason from one already written and printed. */
export const readyMessage = (c: Certificate) => (c.status?.conditions ?? []).find((x) => x.type === "Ready")?.message;
