// The stand-in for cert-manager on a real sim: with cert-manager's CRDs from the tree's chart and the tree's issuers
// and Certificates (cert-manager-config, linkerd-config) applied to the API server, it issues the internal PKI and the
// mesh PKI, so the linkerd-identity-issuer Secret the linkerd HelmRelease reads exists, with the trust anchor as its
// ca.crt, a chain openssl verifies, and the Certificates Ready through the status subresource; a second call issues
// nothing.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { chartsOption } from "../../src/commands/validate.ts";
import { loadConfig } from "../../src/config/load.ts";
import { poll } from "../../src/lab/net/poll.ts";
import { run } from "../../src/lab/net/shell.ts";
import { issueCertificates } from "../../src/sim/certificates.ts";
import type { Certificate } from "../../src/sim/certificates-plan.ts";
import { type Kubectl, simKubectl } from "../../src/sim/kubectl.ts";
import { simLayout } from "../../src/sim/layout.ts";
import { defaultSimBin, requireTool } from "../../src/tools/find.ts";
import { groupOf, type Obj } from "../../src/validate/flux.ts";
import { renderHelmReleases } from "../../src/validate/helm/index.ts";
import { indexSources, readSourceTree } from "../../src/validate/sources.ts";
import { walkFluxGraph } from "../../src/validate/walk.ts";
import { repo } from "../support/cli.ts";
import { simCli, simFolder, simUnavailable, type TestSim, testSim } from "./sim-support.ts";

const why = simUnavailable();
if (why) console.warn(`SKIPPING cert-manager stand-in sim tests: ${why}`);

const serverSide = ["apply", "--server-side", "--field-manager=ktsw-test", "-f", "-"];
const list = (items: Obj[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items });
const secretData = async (kubectl: Kubectl, namespace: string, name: string, key: string) =>
  Buffer.from(
    await kubectl(["get", "secret", "-n", namespace, name, "-o", `jsonpath={.data.${key.replace(".", "\\.")}}`]),
    "base64",
  ).toString();

describe.skipIf(why)("the stand-in for cert-manager on a sim", () => {
  let sim: TestSim;
  let kubectl: Kubectl;
  let folder: string;
  let certificates: Obj[] = [];
  const printed: string[] = [];

  beforeAll(async () => {
    sim = testSim(simFolder());
    folder = mkdtempSync(join(tmpdir(), "ktsw-certificates-sim-"));
    const up = await simCli(sim.dir, ["up", "--no-build", "--timeout", "200"]);
    if (up.code !== 0) throw new Error(`sim up failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
    kubectl = simKubectl(defaultSimBin, simLayout(sim.dir).kubeconfig);

    const { config } = await loadConfig(join(repo, "ktsw.yaml"));
    if (!config) throw new Error("ktsw.yaml does not load");
    const tree = await readSourceTree(repo, "kubernetes");
    const walk = await walkFluxGraph(repo, config.gitops.path, tree, indexSources(tree.docs));
    // cert-manager's CRDs as the tree's HelmRelease renders them (crds.enabled), from the offline chart.
    const certManager = walk.objects.filter(
      (a) => a.object.kind !== "HelmRelease" || (a.object.metadata as { name?: string }).name === "cert-manager",
    );
    const rendered = await renderHelmReleases(certManager, {
      root: repo,
      kubeVersion: config.kubernetes.k3sVersion,
      ...chartsOption(repo),
    });
    const crds = rendered.objects.map((a) => a.object).filter((o) => o.kind === "CustomResourceDefinition");
    expect(crds.length).toBeGreaterThan(0);
    await kubectl(serverSide, list(crds));
    await kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      ...crds.map((c) => `crd/${(c.metadata as { name: string }).name}`),
    ]);
    for (const ns of ["cert-manager", "linkerd"]) await kubectl(["create", "namespace", ns]);
    // The tree's issuers and Certificates, built and substituted as Flux applies them.
    const pki = walk.objects
      .filter((a) => ["flux-system/cert-manager-config", "flux-system/linkerd-config"].includes(a.owner))
      .map((a) => a.object);
    certificates = pki.filter((o) => o.kind === "Certificate" && groupOf(o) === "cert-manager.io");
    await kubectl(serverSide, list(pki));
    await poll(
      `the stand-in to issue the ${certificates.length} Certificates`,
      async () => {
        printed.push(...(await issueCertificates(kubectl, () => {})));
        return (
          JSON.parse(await kubectl(["get", "certificates.cert-manager.io", "-A", "-o", "json"])) as {
            items: Certificate[];
          }
        ).items;
      },
      (items) =>
        items.length === certificates.length &&
        items.every((c) => c.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True")),
      { timeoutMs: 120_000, everyMs: 1_000 },
    );
  }, 600_000);
  afterAll(async () => {
    await sim?.remove();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  test("each Certificate is issued once, and printed", () => {
    expect(printed.filter((l) => l.startsWith("issued Certificate "))).toHaveLength(certificates.length);
    expect(printed.filter((l) => !l.startsWith("issued Certificate "))).toEqual([]);
  });

  test("the linkerd-identity-issuer Secret holds the trust anchor as ca.crt, and its chain verifies", async () => {
    const anchor = await secretData(kubectl, "linkerd", "linkerd-trust-anchor", "tls.crt");
    const caCrt = await secretData(kubectl, "linkerd", "linkerd-identity-issuer", "ca.crt");
    expect(caCrt).toBe(anchor);
    writeFileSync(join(folder, "anchor.crt"), caCrt);
    writeFileSync(
      join(folder, "identity.crt"),
      await secretData(kubectl, "linkerd", "linkerd-identity-issuer", "tls.crt"),
    );
    writeFileSync(join(folder, "root.crt"), await secretData(kubectl, "cert-manager", "ktsw-root-ca", "ca.crt"));
    writeFileSync(
      join(folder, "injector.crt"),
      await secretData(kubectl, "linkerd", "linkerd-proxy-injector-k8s-tls", "tls.crt"),
    );
    const openssl = requireTool("openssl");
    expect(
      await run(openssl, ["verify", "-CAfile", join(folder, "anchor.crt"), join(folder, "identity.crt")]),
    ).toContain(": OK");
    expect(await run(openssl, ["verify", "-CAfile", join(folder, "root.crt"), join(folder, "injector.crt")])).toContain(
      ": OK",
    );
    const type = await kubectl(["get", "secret", "-n", "linkerd", "linkerd-identity-issuer", "-o", "jsonpath={.type}"]);
    expect(type).toBe("kubernetes.io/tls");
  });

  test("the Certificates' status is Ready, revision 1, written through the status subresource", async () => {
    const identity = JSON.parse(
      await kubectl(["get", "certificates.cert-manager.io", "-n", "linkerd", "linkerd-identity-issuer", "-o", "json"]),
    ) as Certificate;
    expect(identity.status).toMatchObject({
      revision: 1,
      conditions: [{ type: "Ready", status: "True", reason: "Ready", message: expect.stringContaining("stand-in") }],
      notBefore: expect.any(String),
      notAfter: expect.any(String),
      renewalTime: expect.any(String),
    });
  });

  test("a second call issues nothing", async () => {
    const versions = () =>
      kubectl([
        "get",
        "secrets,certificates.cert-manager.io",
        "-A",
        "-o",
        "jsonpath={range .items[*]}{.metadata.resourceVersion} {end}",
      ]);
    const before = await versions();
    expect(await issueCertificates(kubectl, () => {})).toEqual([]);
    expect(await versions()).toBe(before);
  });
});
