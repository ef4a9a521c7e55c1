// The sim's certificates, made with openssl (Debian's; node:crypto cannot issue X.509): one CA that signs the API
// server's serving certificate and the admin client certificate, and the key pair service-account tokens are signed
// with. The sim listens on loopback only, so the serving certificate names localhost, 127.0.0.1 and the in-cluster
// names of the `kubernetes` Service.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../lab/net/shell.ts";
import { requireTool } from "../tools/find.ts";

export interface SimCerts {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

export function certFiles(folder: string): SimCerts {
  const f = (name: string) => join(folder, name);
  return {
    caCert: f("ca.crt"),
    caKey: f("ca.key"),
    servingCert: f("apiserver.crt"),
    servingKey: f("apiserver.key"),
    adminCert: f("admin.crt"),
    adminKey: f("admin.key"),
    serviceAccountKey: f("service-account.key"),
    serviceAccountPub: f("service-account.pub"),
  };
}

/** Subject alternative names of the serving certificate; `serviceIp` is the first address of the service CIDR. */
export function servingSans(serviceIp: string): string {
  const dns = [
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
  ];
  return [...dns.map((d) => `DNS:${d}`), "IP:127.0.0.1", `IP:${serviceIp}`].join(",");
}

const days = "3650"; // a sim lives for hours; a long validity keeps a paused one usable
const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** What every certificate signed by the sim's CA carries: a leaf, for signatures and key exchange. */
export const leafExtensions = [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature,keyEncipherment",
];

export interface LeafRequest {
  /** Names the request's temporary files in `folder`. */
  name: string;
  key: string;
  cert: string;
  subject: string;
  extensions: readonly string[];
}

/** A new key, then a certificate for it from the sim's CA with exactly these extensions (`req -x509` would add its
 *  config's CA extensions to a leaf). */
export async function issueLeaf(ca: Pick<SimCerts, "caCert" | "caKey">, folder: string, r: LeafRequest): Promise<void> {
  const openssl = requireTool("openssl");
  const csr = join(folder, `${r.name}.csr`);
  await run(openssl, ["req", "-new", ...ecKey, "-keyout", r.key, "-out", csr, "-subj", r.subject]);
  const notBefore = new Date();
  await signCsr({
    name: r.name,
    folder,
    csr,
    cert: r.cert,
    signer: { cert: ca.caCert, key: ca.caKey },
    extensions: r.extensions,
    notBefore,
    notAfter: new Date(notBefore.getTime() + Number(days) * 86_400_000),
    digest: "sha256",
  });
  await rm(csr);
}

export interface SignRequest {
  /** Names the signing's temporary files in `folder`. */
  name: string;
  folder: string;
  csr: string;
  cert: string;
  /** A CA's certificate and key, or the request's own key (a self-signed certificate). */
  signer: { cert: string; key: string } | { selfSignedKey: string };
  /** Exactly the certificate's extensions (openssl.cnf syntax); nothing is taken from the request. */
  extensions: readonly string[];
  notBefore: Date;
  notAfter: Date;
  /** The signature's digest; none for a key type with a single one (Ed25519). */
  digest?: string;
}

/** GeneralizedTime, as `openssl ca` takes it. */
const asn1Time = (d: Date) => `${d.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;

/** Signs a request with openssl's `ca` command: unlike `x509 -req`, it sets exact start and end times (validity in
 *  hours, as cert-manager's durations are), and each certificate gets a random serial number. */
export async function signCsr(r: SignRequest): Promise<void> {
  const openssl = requireTool("openssl");
  const work = join(r.folder, `${r.name}.ca`);
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    const config = join(work, "ca.cnf");
    const ext = join(work, "extensions");
    await writeFile(join(work, "index.txt"), "");
    // `ca` needs a database and a policy; the subject is the request's, as it is (-preserveDN).
    await writeFile(
      config,
      [
        "[ca]",
        "default_ca = sign",
        "[sign]",
        `database = ${join(work, "index.txt")}`,
        `new_certs_dir = ${work}`,
        "rand_serial = yes",
        "unique_subject = no",
        "copy_extensions = none",
        "policy = any",
        "[any]",
        "",
      ].join("\n"),
    );
    await writeFile(ext, `${r.extensions.join("\n")}\n`);
    const signer =
      "selfSignedKey" in r.signer
        ? ["-selfsign", "-keyfile", r.signer.selfSignedKey]
        : ["-cert", r.signer.cert, "-keyfile", r.signer.key];
    await run(openssl, [
      "ca",
      "-batch",
      "-config",
      config,
      ...signer,
      "-in",
      r.csr,
      "-out",
      r.cert,
      "-startdate",
      asn1Time(r.notBefore),
      "-enddate",
      asn1Time(r.notAfter),
      "-extfile",
      ext,
      "-notext",
      "-preserveDN",
      ...(r.digest ? ["-md", r.digest] : []),
    ]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function makeCerts(folder: string, serviceIp: string): Promise<SimCerts> {
  const openssl = requireTool("openssl");
  const files = certFiles(folder);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const ca = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"];
  await run(
    openssl,
    ["req", "-x509", ...ecKey, "-keyout", files.caKey, "-out", files.caCert, "-days", days].concat([
      "-subj",
      "/CN=ktsw-sim-ca",
      ...ca.flatMap((e) => ["-addext", e]),
    ]),
  );
  const issue = (name: string, key: string, cert: string, subject: string, extensions: string[]) =>
    issueLeaf(files, folder, { name, key, cert, subject, extensions });
  await issue("apiserver", files.servingKey, files.servingCert, "/CN=kube-apiserver", [
    ...leafExtensions,
    "extendedKeyUsage=serverAuth",
    `subjectAltName=${servingSans(serviceIp)}`,
  ]);
  // system:masters: the admin, and the controllers and kwok, which the sim runs with the same identity.
  await issue("admin", files.adminKey, files.adminCert, "/O=system:masters/CN=ktsw-sim-admin", [
    ...leafExtensions,
    "extendedKeyUsage=clientAuth",
  ]);
  await run(openssl, [
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    files.serviceAccountKey,
  ]);
  await run(openssl, ["pkey", "-in", files.serviceAccountKey, "-pubout", "-out", files.serviceAccountPub]);
  return files;
}
