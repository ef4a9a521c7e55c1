// The sim's stand-in for cert-manager issuing the tree's Certificates with openssl, against an in-memory API (the
// kubectl calls it makes, answered from a map): the Secrets cert-manager would write, chains that verify, ca.crt as
// cert-manager fills it, the status it would set, nothing issued twice, and what it cannot issue said once.
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { run } from "../../src/lab/net/shell.ts";
import { issueCertificates } from "../../src/sim/certificates.ts";
import type { Certificate, Secret } from "../../src/sim/certificates-plan.ts";
import { standInNote } from "../../src/sim/certificates-request.ts";
import type { Kubectl } from "../../src/sim/kubectl.ts";
import { findTool } from "../../src/tools/find.ts";
import { groupOf, type Obj } from "../../src/validate/flux.ts";
import { indexSources, readSourceTree } from "../../src/validate/sources.ts";
import { walkFluxGraph } from "../../src/validate/walk.ts";
import { repo } from "../support/cli.ts";

const openssl = findTool("openssl");
if (!openssl) console.warn("SKIPPING certificate issuing tests: openssl not found (apt-get install openssl)");

const resources: Record<string, string> = {
  "certificates.cert-manager.io": "Certificate",
  "issuers.cert-manager.io": "Issuer",
  "clusterissuers.cert-manager.io": "ClusterIssuer",
  "helmreleases.helm.toolkit.fluxcd.io": "HelmRelease",
  secrets: "Secret",
};

/** RFC 7386: objects merge, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === "object" && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The kubectl calls the stand-in makes, on objects kept in memory. */
function fakeApi(objects: Obj[]) {
  const store = structuredClone(objects);
  const calls: string[][] = [];
  const meta = (o: Obj) => (o.metadata ?? {}) as { name?: string; namespace?: string };
  const kubectl: Kubectl = async (args, input) => {
    calls.push([...args]);
    const [verb, resource] = args;
    if (verb === "get") {
      const kind = resources[resource ?? ""];
      if (!kind) throw new Error(`error: the server doesn't have a resource type "${resource}"`);
      return JSON.stringify({ items: store.filter((o) => o.kind === kind) });
    }
    if (verb === "apply") {
      const applied = JSON.parse(input ?? "{}") as Obj;
      const i = store.findIndex(
        (o) =>
          o.kind === applied.kind &&
          meta(o).name === meta(applied).name &&
          meta(o).namespace === meta(applied).namespace,
      );
      if (i >= 0) store.splice(i, 1);
      store.push(applied);
      return "";
    }
    if (verb === "patch" && args.includes("--subresource=status")) {
      const namespace = args[args.indexOf("-n") + 1];
      const name = args[4];
      const target = store.find(
        (o) => o.kind === "Certificate" && meta(o).name === name && meta(o).namespace === namespace,
      );
      if (!target) throw new Error(`certificate ${namespace}/${name} not found`);
      Object.assign(target, mergePatch(target, JSON.parse(args[args.indexOf("-p") + 1] ?? "{}")));
      return "";
    }
    throw new Error(`the fake API does not answer kubectl ${args.join(" ")}`);
  };
  const find = (kind: string, namespace: string, name: string) =>
    store.find((o) => o.kind === kind && meta(o).namespace === namespace && meta(o).name === name);
  return { kubectl, calls, store, find };
}

const decoded = (s: unknown, key: string) =>
  Buffer.from((s as Secret | undefined)?.data?.[key] ?? "", "base64").toString();

describe.skipIf(!openssl)("issuing the tree's Certificates with the stand-in", () => {
  let treeObjects: Obj[] = [];
  let api: ReturnType<typeof fakeApi>;
  let first: string[];
  let folder: string;
  const printed: string[] = [];
  const now = new Date();

  beforeAll(async () => {
    const { config } = await loadConfig(join(repo, "ktsw.yaml"));
    const tree = await readSourceTree(repo, "kubernetes");
    const walk = await walkFluxGraph(repo, config?.gitops.path ?? "", tree, indexSources(tree.docs));
    treeObjects = walk.objects
      .map((a) => a.object)
      .filter((o) => groupOf(o) === "cert-manager.io" || o.kind === "HelmRelease")
      .map((o) => (o.kind === "Certificate" ? { ...o, metadata: { ...(o.metadata as object), generation: 1 } } : o));
    const acmeCertificate = {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: { namespace: "apps", name: "public", generation: 1 },
      spec: {
        secretName: "public-tls",
        dnsNames: ["app.example.org"],
        issuerRef: { kind: "ClusterIssuer", name: "le" },
      },
    };
    const acmeIssuer = {
      apiVersion: "cert-manager.io/v1",
      kind: "ClusterIssuer",
      metadata: { name: "le" },
      spec: { acme: {} },
    };
    api = fakeApi([...treeObjects, acmeCertificate, acmeIssuer]);
    first = await issueCertificates(api.kubectl, (line) => printed.push(line), { now: () => now });
    folder = mkdtempSync(join(tmpdir(), "ktsw-certificates-test-"));
  }, 120_000);
  afterAll(() => {
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  test("every Certificate of the tree is issued in one call, roots before what they sign, each printed", () => {
    const issued = first.filter((l) => l.startsWith("issued "));
    const treeCertificates = treeObjects.filter((o) => o.kind === "Certificate");
    expect(issued).toHaveLength(treeCertificates.length);
    const at = (id: string) => issued.findIndex((l) => l.startsWith(`issued Certificate ${id} `));
    expect(at("linkerd/linkerd-trust-anchor")).toBeLessThan(at("linkerd/linkerd-identity-issuer"));
    expect(at("cert-manager/ktsw-root-ca")).toBeLessThan(at("linkerd/linkerd-proxy-injector"));
    expect(issued[at("linkerd/linkerd-identity-issuer")]).toMatch(
      /^issued Certificate linkerd\/linkerd-identity-issuer \(secret linkerd-identity-issuer\) by the sim's stand-in for cert-manager: signed by Issuer linkerd\/linkerd-trust-anchor, valid until \d{4}-/,
    );
    expect(printed).toEqual(first);
  });

  test("the identity issuer's Secret is what Linkerd reads: ca.crt the trust anchor, a chain that verifies", async () => {
    const anchor = api.find("Secret", "linkerd", "linkerd-trust-anchor");
    const identity = api.find("Secret", "linkerd", "linkerd-identity-issuer");
    expect(identity?.type).toBe("kubernetes.io/tls");
    expect(decoded(identity, "ca.crt")).toBe(decoded(anchor, "tls.crt"));
    // A self-signed certificate is its own ca.crt.
    expect(decoded(anchor, "ca.crt")).toBe(decoded(anchor, "tls.crt"));
    writeFileSync(join(folder, "anchor.crt"), decoded(anchor, "ca.crt"));
    writeFileSync(join(folder, "identity.crt"), decoded(identity, "tls.crt"));
    expect(
      await run(openssl as string, ["verify", "-CAfile", join(folder, "anchor.crt"), join(folder, "identity.crt")]),
    ).toContain(": OK");
    const cert = new X509Certificate(decoded(identity, "tls.crt"));
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe("CN=identity.linkerd.cluster.local");
    expect(cert.subjectAltName).toBe("DNS:identity.linkerd.cluster.local");
    expect(new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()).toBe(48 * 3_600_000);
    expect(decoded(identity, "tls.key")).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  });

  test("the Secrets carry cert-manager's annotations and label", () => {
    const injector = api.find("Secret", "linkerd", "linkerd-proxy-injector-k8s-tls") as unknown as Secret | undefined;
    expect(injector?.metadata.labels).toEqual({ "controller.cert-manager.io/fao": "true" });
    expect(injector?.metadata.annotations).toEqual({
      "cert-manager.io/alt-names": "linkerd-proxy-injector.linkerd.svc",
      "cert-manager.io/certificate-name": "linkerd-proxy-injector",
      "cert-manager.io/common-name": "linkerd-proxy-injector.linkerd.svc",
      "cert-manager.io/ip-sans": "",
      "cert-manager.io/issuer-group": "cert-manager.io",
      "cert-manager.io/issuer-kind": "ClusterIssuer",
      "cert-manager.io/issuer-name": "ktsw-internal-ca",
      "cert-manager.io/uri-sans": "",
    });
    const root = api.find("Secret", "cert-manager", "ktsw-root-ca");
    expect(decoded(injector, "ca.crt")).toBe(decoded(root, "tls.crt"));
  });

  test("each Certificate's status is cert-manager's once issued: Ready, revision 1, its validity and renewal time", () => {
    const identity = api.find("Certificate", "linkerd", "linkerd-identity-issuer") as unknown as
      | Certificate
      | undefined;
    const status = identity?.status as Record<string, unknown>;
    expect(status.conditions).toEqual([
      expect.objectContaining({
        type: "Ready",
        status: "True",
        reason: "Ready",
        message: `Certificate is up to date and has not expired; issued ${standInNote}`,
        observedGeneration: 1,
      }),
    ]);
    expect(status.revision).toBe(1);
    const notAfter = new Date(status.notAfter as string).getTime();
    // renewBefore 25h of a 48h certificate.
    expect(notAfter - new Date(status.renewalTime as string).getTime()).toBe(25 * 3_600_000);
    expect(notAfter - new Date(status.notBefore as string).getTime()).toBe(48 * 3_600_000);
  });

  test("what cannot be issued here is printed once with why, and its Ready condition says so", async () => {
    const said = first.filter((l) => l.startsWith("not issuing "));
    expect(said).toEqual([
      "not issuing Certificate apps/public by the sim's stand-in for cert-manager: its ClusterIssuer le is an ACME issuer, which needs an ACME server and its DNS-01/HTTP-01 challenges on the internet",
    ]);
    const ready = ((api.find("Certificate", "apps", "public") as unknown as Certificate).status?.conditions ?? [])[0];
    expect(ready).toMatchObject({ type: "Ready", status: "False", message: expect.stringContaining("an ACME issuer") });
  });

  test("a changed spec is issued again: the trust anchor (rotationPolicy Never) keeps its key, a leaf (Always) gets a new one", async () => {
    const again = fakeApi(api.store);
    const bump = (namespace: string, name: string) => {
      const c = again.find("Certificate", namespace, name) as { metadata: { generation: number } };
      c.metadata.generation += 1;
    };
    const key = (namespace: string, name: string) => decoded(again.find("Secret", namespace, name), "tls.key");
    const anchorKey = key("linkerd", "linkerd-trust-anchor");
    const injectorKey = key("linkerd", "linkerd-proxy-injector-k8s-tls");
    bump("linkerd", "linkerd-trust-anchor");
    bump("linkerd", "linkerd-proxy-injector");
    const lines = await issueCertificates(again.kubectl, () => {}, { now: () => now });
    expect(lines.map((l) => l.split(" (")[0]).sort()).toEqual([
      "issued Certificate linkerd/linkerd-proxy-injector",
      "issued Certificate linkerd/linkerd-trust-anchor",
    ]);
    expect(key("linkerd", "linkerd-trust-anchor")).toBe(anchorKey);
    expect(key("linkerd", "linkerd-proxy-injector-k8s-tls")).not.toBe(injectorKey);
    const anchor = again.find("Certificate", "linkerd", "linkerd-trust-anchor") as unknown as Certificate;
    expect(anchor.status?.revision).toBe(2);
    // What the old anchor signed still verifies against the renewed one.
    writeFileSync(
      join(folder, "renewed-anchor.crt"),
      decoded(again.find("Secret", "linkerd", "linkerd-trust-anchor"), "tls.crt"),
    );
    writeFileSync(
      join(folder, "old-identity.crt"),
      decoded(again.find("Secret", "linkerd", "linkerd-identity-issuer"), "tls.crt"),
    );
    const verified = await run(openssl as string, [
      "verify",
      "-CAfile",
      join(folder, "renewed-anchor.crt"),
      join(folder, "old-identity.crt"),
    ]);
    expect(verified).toContain(": OK");
  });

  test("a second call issues nothing and says nothing again", async () => {
    const before = JSON.stringify(api.store);
    const again = await issueCertificates(api.kubectl, () => {}, { now: () => now });
    expect(again).toEqual([]);
    expect(JSON.stringify(api.store)).toBe(before);
  });
});
