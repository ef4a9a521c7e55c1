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
  const ext = join(folder, `${r.name}.ext`);
  await writeFile(ext, `${r.extensions.join("\n")}\n`);
  await run(openssl, ["req", "-new", ...ecKey, "-keyout", r.key, "-out", csr, "-subj", r.subject]);
  await run(
    openssl,
    ["x509", "-req", "-in", csr, "-CA", ca.caCert, "-CAkey", ca.caKey, "-CAcreateserial"].concat([
      "-out",
      r.cert,
      "-days",
      days,
      "-extfile",
      ext,
    ]),
  );
  await rm(csr);
  await rm(ext);
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
