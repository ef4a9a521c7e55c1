// Which of the tree's Certificates the sim's stand-in for cert-manager issues now, which wait for their issuer's CA
// Secret (the chains selfSigned -> root CA -> ca issuer -> leaf), and which it cannot issue here, with why. On the
// objects Flux would apply (built and substituted from this site's settings).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/config/load.ts";
import {
  type Certificate,
  type CertificatePlan,
  certificateId,
  clusterResourceNamespace,
  type Issuer,
  type PlanInput,
  planCertificates,
  type Secret,
} from "../../src/sim/certificates-plan.ts";
import { groupOf, type Obj } from "../../src/validate/flux.ts";
import { indexSources, readSourceTree } from "../../src/validate/sources.ts";
import { walkFluxGraph } from "../../src/validate/walk.ts";
import { repo } from "../support/cli.ts";

let objects: Obj[] = [];
const ofKind = <T>(kind: string) =>
  structuredClone(objects.filter((o) => groupOf(o) === "cert-manager.io" && o.kind === kind)) as T[];

beforeAll(async () => {
  const { config } = await loadConfig(join(repo, "ktsw.yaml"));
  const tree = await readSourceTree(repo, "kubernetes");
  const walk = await walkFluxGraph(repo, config?.gitops.path ?? "", tree, indexSources(tree.docs));
  objects = walk.objects.map((a) => a.object);
});

const treeInput = (secrets: Secret[] = []): PlanInput => ({
  certificates: ofKind<Certificate>("Certificate"),
  issuers: ofKind<Issuer>("Issuer"),
  clusterIssuers: ofKind<Issuer>("ClusterIssuer"),
  secrets,
  clusterResourceNamespace: "cert-manager",
});

const byAction = (plans: CertificatePlan[]) => {
  const out: Record<string, string[]> = {};
  for (const p of plans) out[p.action] = [...(out[p.action] ?? []), certificateId(p.certificate)];
  for (const ids of Object.values(out)) ids.sort();
  return out;
};

const keyPair = (namespace: string, name: string): Secret => ({
  metadata: { namespace, name },
  type: "kubernetes.io/tls",
  data: { "tls.crt": "Y2VydA==", "tls.key": "a2V5" },
});

const ready = (c: Certificate): Certificate => ({
  ...c,
  status: { conditions: [{ type: "Ready", status: "True", observedGeneration: c.metadata.generation }] },
});

describe("planning the tree's Certificates", () => {
  test("from nothing, the two self-signed roots are issued and everything they sign waits for them", () => {
    const plans = planCertificates(treeInput());
    expect(byAction(plans)).toEqual({
      issue: ["cert-manager/ktsw-root-ca", "linkerd/linkerd-trust-anchor"],
      wait: [
        "gatekeeper-system/ratify-registry-trust",
        "harbor/harbor-token",
        "linkerd/linkerd-identity-issuer",
        "linkerd/linkerd-policy-validator",
        "linkerd/linkerd-proxy-injector",
        "linkerd/linkerd-sp-validator",
        "task-processor-ci/ci-trust",
        "task-processor/task-processor-tls",
        "traefik/wildcard-site",
      ],
    });
    const identity = plans.find((p) => certificateId(p.certificate) === "linkerd/linkerd-identity-issuer");
    expect(identity).toMatchObject({
      action: "wait",
      reason:
        "the CA Secret linkerd/linkerd-trust-anchor of Issuer linkerd/linkerd-trust-anchor does not hold a key pair yet",
    });
    const root = plans.find((p) => certificateId(p.certificate) === "cert-manager/ktsw-root-ca");
    expect(root).toMatchObject({ issuer: "ClusterIssuer ktsw-selfsigned", signer: { selfSigned: true } });
  });

  test("once the roots' Secrets hold key pairs, what they sign is issued, a ClusterIssuer's from the cluster resource namespace", () => {
    const plans = planCertificates(
      treeInput([keyPair("cert-manager", "ktsw-root-ca"), keyPair("linkerd", "linkerd-trust-anchor")]),
    );
    const identity = plans.find((p) => certificateId(p.certificate) === "linkerd/linkerd-identity-issuer");
    expect(identity).toMatchObject({
      action: "issue",
      issuer: "Issuer linkerd/linkerd-trust-anchor",
      signer: { caSecret: { namespace: "linkerd", name: "linkerd-trust-anchor" } },
    });
    const injector = plans.find((p) => certificateId(p.certificate) === "linkerd/linkerd-proxy-injector");
    expect(injector).toMatchObject({
      action: "issue",
      signer: { caSecret: { namespace: "cert-manager", name: "ktsw-root-ca" } },
    });
    // The roots themselves are not issued again only once they are Ready too.
    expect(byAction(plans).issue).toContain("cert-manager/ktsw-root-ca");
  });

  test("an issued Certificate (Secret with its key pair, Ready for its generation) is left alone; a changed spec is issued again", () => {
    const input = treeInput([keyPair("cert-manager", "ktsw-root-ca")]);
    const root = input.certificates.find((c) => c.metadata.name === "ktsw-root-ca") as Certificate;
    const issued = { ...ready({ ...root, metadata: { ...root.metadata, generation: 1 } }) };
    const plan = (c: Certificate) => planCertificates({ ...input, certificates: [c] }).map((p) => p.action);
    expect(plan(issued)).toEqual(["issued"]);
    expect(plan({ ...issued, metadata: { ...issued.metadata, generation: 2 } })).toEqual(["issue"]);
    expect(plan({ ...issued, status: {} })).toEqual(["issue"]);
    expect(plan(ready(root))).toEqual(["issued"]);
    expect(planCertificates({ ...input, secrets: [], certificates: [issued] }).map((p) => p.action)).toEqual(["issue"]);
  });

  test("a Certificate whose issuer does not exist yet waits for it", () => {
    const plans = planCertificates({ ...treeInput(), clusterIssuers: [] });
    expect(plans.find((p) => certificateId(p.certificate) === "cert-manager/ktsw-root-ca")).toMatchObject({
      action: "wait",
      reason: "ClusterIssuer ktsw-selfsigned does not exist yet",
    });
  });

  test("the tree's ACME issuer, an external issuer and fields the stand-in lacks cannot be issued here, each with why", () => {
    const acmeFile = join(repo, "kubernetes/security/cert-manager/acme/letsencrypt-issuer.yaml");
    const acme = parseAllDocuments(readFileSync(acmeFile, "utf8")).map((d) => d.toJS() as Issuer);
    const certificate = (name: string, issuerRef: Record<string, string>, extra: object = {}): Certificate => ({
      metadata: { namespace: "apps", name },
      spec: { secretName: `${name}-tls`, dnsNames: ["app.lab.home.arpa"], issuerRef, ...extra },
    });
    const plans = planCertificates({
      ...treeInput(),
      clusterIssuers: [...ofKind<Issuer>("ClusterIssuer"), ...acme],
      certificates: [
        certificate("public", { kind: "ClusterIssuer", name: "letsencrypt-dns01" }),
        certificate("external", { kind: "AWSPCAClusterIssuer", name: "pca", group: "awspca.cert-manager.io" }),
        certificate("literal", { kind: "ClusterIssuer", name: "ktsw-selfsigned" }, { literalSubject: "CN=app" }),
      ],
    });
    expect(plans.map((p) => [p.action, "reason" in p ? p.reason : ""])).toEqual([
      [
        "cannot",
        "its ClusterIssuer letsencrypt-dns01 is an ACME issuer, which needs an ACME server and its DNS-01/HTTP-01 challenges on the internet",
      ],
      [
        "cannot",
        "its issuer AWSPCAClusterIssuer pca is an external issuer (group awspca.cert-manager.io), run by its own controller",
      ],
      ["cannot", "it sets spec.literalSubject, which the stand-in does not implement"],
    ]);
  });
});

describe("cert-manager's cluster resource namespace", () => {
  const release = (namespace: string, values: object = {}, extra: object = {}) => ({
    metadata: { namespace, name: "cert-manager" },
    spec: { chart: { spec: { chart: "cert-manager" } }, values, ...extra },
  });

  test("the tree's HelmRelease installs cert-manager into its own namespace, which keeps ClusterIssuers' Secrets", () => {
    const releases = objects.filter((o) => o.kind === "HelmRelease");
    expect(clusterResourceNamespace(releases)).toBe("cert-manager");
  });

  test("the chart's clusterResourceNamespace, then its namespace value, then the release's target namespace decide", () => {
    expect(clusterResourceNamespace([release("cert-manager", { clusterResourceNamespace: "pki" })])).toBe("pki");
    expect(clusterResourceNamespace([release("cert-manager", { namespace: "certs" })])).toBe("certs");
    expect(clusterResourceNamespace([release("flux-system", {}, { targetNamespace: "security" })])).toBe("security");
    expect(clusterResourceNamespace([])).toBe("cert-manager");
  });
});
