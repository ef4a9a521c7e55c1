// What the stand-in for cert-manager puts in a certificate, read from the Certificate's spec as cert-manager v1.21
// reads it: extensions (Go's choices included), key type and encoding, validity, subject, and tls.crt/ca.crt.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { run } from "../../src/lab/net/shell.ts";
import type { Certificate } from "../../src/sim/certificates-plan.ts";
import {
  certificateRequest,
  chainAndCa,
  goDurationMs,
  issuedStatus,
  signatureDigest,
} from "../../src/sim/certificates-request.ts";
import { signCsr } from "../../src/sim/certs.ts";
import { findTool } from "../../src/tools/find.ts";

const now = new Date("2026-11-30T10:00:00.750Z");
const cert = (spec: object): Certificate => ({
  metadata: { namespace: "apps", name: "c" },
  spec: { secretName: "c", ...spec },
});

describe("a Certificate's spec read as cert-manager reads it", () => {
  test("a server-auth-only leaf gets no key usage extension (Go writes none without one), a SAN, the issuer's key id", () => {
    const r = certificateRequest(
      cert({ commonName: "a.svc", dnsNames: ["a.svc"], usages: ["server auth"], privateKey: { algorithm: "ECDSA" } }),
      now,
      false,
    );
    expect(r).toEqual({
      subject: "/CN=a.svc",
      extensions: [
        "basicConstraints=critical,CA:FALSE",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=DNS:a.svc",
        "subjectKeyIdentifier=none",
        "authorityKeyIdentifier=keyid",
      ],
      key: { type: "ec", namedCurve: "P-256", encoding: "sec1" },
      notBefore: new Date("2026-11-30T10:00:00Z"),
      notAfter: new Date(Date.parse("2026-11-30T10:00:00Z") + 2160 * 3_600_000),
    });
  });

  test("a CA signs certificates whatever its usages say, and gets a subject key identifier", () => {
    const r = certificateRequest(
      cert({ isCA: true, commonName: "ca", duration: "48h", usages: ["crl sign", "server auth", "client auth"] }),
      now,
      true,
    );
    expect(r).toMatchObject({
      extensions: [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign",
        "extendedKeyUsage=serverAuth,clientAuth",
        "subjectKeyIdentifier=hash",
      ],
    });
  });

  test("defaults: RSA 2048 in PKCS#1, digital signature and key encipherment, 90 days", () => {
    const r = certificateRequest(cert({ dnsNames: ["x"] }), now, true);
    expect(r).toMatchObject({
      key: { type: "rsa", modulusLength: 2048, encoding: "pkcs1" },
      extensions: expect.arrayContaining(["keyUsage=critical,digitalSignature,keyEncipherment"]),
    });
    expect(
      certificateRequest(
        cert({ dnsNames: ["x"], privateKey: { algorithm: "ECDSA", size: 384, encoding: "PKCS8" } }),
        now,
        true,
      ),
    ).toMatchObject({
      key: { type: "ec", namedCurve: "P-384", encoding: "pkcs8" },
    });
    expect(
      certificateRequest(cert({ dnsNames: ["x"], privateKey: { algorithm: "Ed25519" } }), now, true),
    ).toMatchObject({
      key: { type: "ed25519", encoding: "pkcs8" },
    });
  });

  test("the subject in Go's order, values escaped; an empty one makes the SAN critical", () => {
    const r = certificateRequest(
      cert({
        commonName: "a/b",
        subject: { organizations: ["O1", "O+2"], countries: ["DE"] },
        ipAddresses: ["10.0.0.1"],
      }),
      now,
      true,
    );
    expect(r).toMatchObject({ subject: "/C=DE/O=O1+O=O\\+2/CN=a\\/b" });
    const empty = certificateRequest(cert({ uris: ["spiffe://lab/x"] }), now, true);
    expect(empty).toMatchObject({
      subject: "/",
      extensions: expect.arrayContaining(["subjectAltName=critical,URI:spiffe://lab/x"]),
    });
  });

  test("what cert-manager refuses, the stand-in refuses with the same reason", () => {
    const error = (spec: object) => (certificateRequest(cert(spec), now, true) as { error?: string }).error;
    expect(error({ dnsNames: ["x"], privateKey: { size: 1024 } })).toBe(
      "privateKey.size 1024 is outside RSA's 2048..8192",
    );
    expect(error({ dnsNames: ["x"], privateKey: { algorithm: "ECDSA", size: 300 } })).toMatch(/not an ECDSA curve/);
    expect(error({ dnsNames: ["x"], usages: ["flying"] })).toBe("unknown key usages: flying");
    expect(error({ dnsNames: ["x"], duration: "2 days" })).toBe("duration 2 days is not a Go duration");
    expect(error({})).toMatch(/^at least one of commonName/);
  });

  test("Go durations; the digest Go signs with for the signer's key", () => {
    expect(goDurationMs("1h30m")).toBe(5_400_000);
    expect(goDurationMs("2160h0m0s")).toBe(2160 * 3_600_000);
    expect(goDurationMs("1.5h")).toBe(5_400_000);
    expect(goDurationMs("48")).toBeUndefined();
    expect(signatureDigest({ type: "rsa", bits: 4096 })).toBe("sha512");
    expect(signatureDigest({ type: "rsa", bits: 3072 })).toBe("sha384");
    expect(signatureDigest({ type: "ec", curve: "secp384r1" })).toBe("sha384");
    expect(signatureDigest({ type: "ec", curve: "prime256v1" })).toBe("sha256");
    expect(signatureDigest({ type: "ed25519" })).toBeUndefined();
  });

  test("renewal: renewBefore when shorter than the lifetime, else renewBeforePercentage, else two thirds through", () => {
    const validity = { notBefore: new Date("2026-01-01T00:00:00Z"), notAfter: new Date("2026-01-04T00:00:00Z") };
    const renewal = (spec: object) => issuedStatus(cert(spec), validity, now).status.renewalTime;
    expect(renewal({ renewBefore: "24h" })).toBe("2026-01-03T00:00:00Z");
    expect(renewal({ renewBefore: "100h" })).toBe("2026-01-03T00:00:00Z");
    expect(renewal({ renewBeforePercentage: 50 })).toBe("2026-01-02T12:00:00Z");
  });
});

const openssl = findTool("openssl");
if (!openssl) console.warn("SKIPPING the certificate chain test: openssl not found (apt-get install openssl)");

describe.skipIf(!openssl)("tls.crt and ca.crt as cert-manager writes them", () => {
  test("a leaf of an intermediate CA: tls.crt the leaf and the intermediate, ca.crt the self-signed root", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ktsw-chain-"));
    try {
      const f = (n: string) => join(dir, n);
      const make = async (name: string, cn: string, ca: boolean, signer?: string) => {
        await run(
          openssl as string,
          ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
            "-keyout",
            f(`${name}.key`),
            "-out",
            f(`${name}.csr`),
            "-subj",
            `/CN=${cn}`,
          ]),
        );
        await signCsr({
          name,
          folder: dir,
          csr: f(`${name}.csr`),
          cert: f(`${name}.crt`),
          signer: signer ? { cert: f(`${signer}.crt`), key: f(`${signer}.key`) } : { selfSignedKey: f(`${name}.key`) },
          extensions: [
            `basicConstraints=critical,CA:${ca ? "TRUE" : "FALSE"}`,
            ...(ca ? ["keyUsage=critical,keyCertSign"] : []),
          ],
          notBefore: new Date(),
          notAfter: new Date(Date.now() + 3_600_000),
          digest: "sha256",
        });
        return readFileSync(f(`${name}.crt`), "utf8");
      };
      const root = await make("root", "root", true);
      const intermediate = await make("intermediate", "intermediate", true, "root");
      const leaf = await make("leaf", "leaf", false, "intermediate");
      // The ca issuer of the intermediate reads its Secret: tls.crt (the intermediate), ca.crt (the root).
      expect(chainAndCa(leaf, [intermediate, root])).toEqual({
        tlsCrt: `${leaf.trim()}\n${intermediate.trim()}\n`,
        caCrt: `${root.trim()}\n`,
      });
      // Without the root, the highest certificate is ca.crt and stays in the chain.
      expect(chainAndCa(leaf, [intermediate])).toEqual({
        tlsCrt: `${leaf.trim()}\n${intermediate.trim()}\n`,
        caCrt: `${intermediate.trim()}\n`,
      });
      expect(chainAndCa(root, [])).toEqual({ tlsCrt: `${root.trim()}\n`, caCrt: `${root.trim()}\n` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
