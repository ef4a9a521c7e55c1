// What the sim tells Gatekeeper's local manager and the API server, read from the chart as the tree renders it:
// the two Deployments' flags become one command line, the chart's webhook configurations become stand-ins that call
// the local process, and the removal of the chart's own is said in words. Pure: no sim needed.
import { describe, expect, test } from "vitest";
import { type GatekeeperChart, managerArgs, standInWebhooks, takeOverMessage } from "../../src/sim/gatekeeper.ts";

const deployment = (name: string, args: string[]) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "gatekeeper-system" },
  spec: {
    template: { spec: { containers: [{ name: "manager", image: "openpolicyagent/gatekeeper:v3.23.0", args }] } },
  },
});

const service = (path: string) => ({
  service: { name: "gatekeeper-webhook-service", namespace: "gatekeeper-system", path },
});

const validating = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingWebhookConfiguration",
  metadata: {
    name: "gatekeeper-validating-webhook-configuration",
    labels: { app: "gatekeeper", heritage: "Helm", release: "gatekeeper", "gatekeeper.sh/system": "yes" },
  },
  webhooks: [
    {
      name: "validation.gatekeeper.sh",
      clientConfig: service("/v1/admit"),
      failurePolicy: "Ignore",
      namespaceSelector: { matchExpressions: [{ key: "admission.gatekeeper.sh/ignore", operator: "DoesNotExist" }] },
      rules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE", "UPDATE"], resources: ["*"] }],
      timeoutSeconds: 3,
    },
    { name: "check-ignore-label.gatekeeper.sh", clientConfig: service("/v1/admitlabel"), failurePolicy: "Fail" },
  ],
};

const chart = (audit: string[], controller: string[]): GatekeeperChart => ({
  namespace: "gatekeeper-system",
  deployments: [deployment("gatekeeper-audit", audit), deployment("gatekeeper-controller-manager", controller)],
  webhookConfigurations: [validating],
  crds: [],
});

const ports = { webhook: 40001, health: 40002, metrics: 40003 };
const paths = { certDir: "/sim/certs/gatekeeper", apiCacheDir: "/sim/gatekeeper-audit" };

describe("the local Gatekeeper manager", () => {
  test("runs with both chart Deployments' flags, repeatable ones added up, and the sim's own in place of the pods'", () => {
    const args = managerArgs(
      chart(
        ["--audit-interval=60", "--operation=audit", "--operation=status", "--health-addr=:9090", "--log-level=INFO"],
        [
          "--port=8443",
          "--log-level=INFO",
          "--exempt-namespace=gatekeeper-system",
          "--operation=webhook",
          "--disable-cert-rotation=false",
          "--disable-opa-builtin={http.send}",
        ],
      ),
      ports,
      paths,
      "/sim/kubeconfig",
    );
    expect(args).toEqual([
      "--audit-interval=60",
      "--operation=audit",
      "--operation=status",
      "--log-level=INFO",
      "--exempt-namespace=gatekeeper-system",
      "--operation=webhook",
      "--disable-opa-builtin={http.send}",
      "--kubeconfig=/sim/kubeconfig",
      "--host=127.0.0.1",
      "--port=40001",
      "--health-addr=127.0.0.1:40002",
      "--prometheus-port=40003",
      "--metrics-addr=0",
      "--cert-dir=/sim/certs/gatekeeper",
      "--disable-cert-rotation=true",
      "--api-cache-dir=/sim/gatekeeper-audit",
      "--shutdown-delay=0",
      "--validating-webhook-configuration-name=ktsw-sim-gatekeeper-validating-webhook-configuration",
    ]);
  });

  test("a flag the two Deployments set differently is an error naming both values, not a silent pick", () => {
    expect(() => managerArgs(chart(["--log-level=INFO"], ["--log-level=DEBUG"]), ports, paths, "/k")).toThrow(
      "the gatekeeper chart's Deployments set --log-level differently (--log-level=INFO, --log-level=DEBUG)",
    );
  });
});

describe("the stand-in webhook configurations", () => {
  const standIn = standInWebhooks(validating, "https://127.0.0.1:40001", "Q0E=");

  test("call the local manager at each webhook's path, trusting the sim's CA", () => {
    expect(standIn.webhooks).toMatchObject([
      { name: "validation.gatekeeper.sh", clientConfig: { url: "https://127.0.0.1:40001/v1/admit", caBundle: "Q0E=" } },
      {
        name: "check-ignore-label.gatekeeper.sh",
        clientConfig: { url: "https://127.0.0.1:40001/v1/admitlabel", caBundle: "Q0E=" },
      },
    ]);
  });

  test("keep the chart's rules, selectors, failure policies and timeouts, under their own name", () => {
    const withoutClient = (hooks: unknown) =>
      (hooks as Record<string, unknown>[]).map(({ clientConfig: _, ...rest }) => rest);
    expect(withoutClient(standIn.webhooks)).toEqual(withoutClient(validating.webhooks));
    expect(standIn.metadata).toEqual({
      name: "ktsw-sim-gatekeeper-validating-webhook-configuration",
      labels: { app: "gatekeeper", "gatekeeper.sh/system": "yes", "app.kubernetes.io/managed-by": "ktsw-sim" },
      annotations: { "ktsw.dev/stands-in-for": "gatekeeper-validating-webhook-configuration" },
    });
  });

  test("the removal of the chart's own says what it called, why, and what stands in for it", () => {
    expect(takeOverMessage(validating)).toBe(
      "gatekeeper: removed the chart's ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration: it calls Service gatekeeper-system/gatekeeper-webhook-service, whose pods kwok only pretends to run; ktsw-sim-gatekeeper-validating-webhook-configuration (the same webhooks, calling the local manager) stands in for it",
    );
  });
});
