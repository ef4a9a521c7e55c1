// Gatekeeper in the sim: its controller manager (the release of the tree's chart) runs as a local process, and the
// API server calls it through real webhook configurations, so the tree's constraints act on real API requests.
//
// Everything the manager is told comes from the chart as the tree renders it (its HelmRelease's values included):
// the flags of the chart's controller-manager and audit Deployments (one process does both), its CRDs, and its
// webhook configurations with their rules, selectors, failure policies and timeouts. The sim only changes what a
// local process needs: ports on loopback, a serving certificate from the sim's CA (no cert rotation: the manager
// would write its own CA into the chart's configurations), and where the API server finds it.
//
// How it coexists with the chart's own webhook configurations: those point at the Service
// gatekeeper-system/gatekeeper-webhook-service, whose pods kwok only pretends to run. The API server would wait out
// each call (3 s) and then fail open, except for check-ignore-label, which fails closed and would refuse every
// Namespace. So the sim registers a stand-in for each (same webhooks, the manager's URL instead of the Service,
// named `ktsw-sim-<chart's name>`) and removes the chart's own whenever it finds them (takeOverChartWebhooks),
// printing each removal. Removed rather than redirected in place: helm-controller's next upgrade patches what it
// applied, and a patch that brings the Service back beside the sim's URL is an invalid object that fails the
// upgrade, while a removed object is simply created again (and removed again by the sim).
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Obj } from "../validate/flux.ts";
import { arr, get, nameOf, str } from "../validate/flux.ts";
import type { AppliedObject } from "../validate/walk.ts";
import { issueLeaf, leafExtensions, type SimCerts } from "./certs.ts";
import type { Progress } from "./cluster.ts";
import type { Kubectl } from "./kubectl.ts";
import type { SimLayout } from "./layout.ts";
import { freePort } from "./ports.ts";
import { type Started, startDetached, stopAll, waitReady } from "./processes.ts";

/** The Gatekeeper chart as the tree's HelmRelease renders it. */
export interface GatekeeperChart {
  /** The release's namespace: where the manager keeps its status objects (its POD_NAMESPACE). */
  namespace: string;
  /** The controller-manager and audit Deployments: their `manager` containers' flags and image. */
  deployments: Obj[];
  /** The Validating- and MutatingWebhookConfigurations, pointing at the chart's Service. */
  webhookConfigurations: Obj[];
  /** ConstraintTemplate, Config, the status kinds...: the manager watches them from its first second. */
  crds: Obj[];
}

const webhookKinds = ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"];

/** The objects the tree's Gatekeeper HelmRelease renders (from `buildAppliedTree`), sorted by what the sim needs. */
export function gatekeeperChart(applied: readonly AppliedObject[]): GatekeeperChart {
  const rendered = applied.filter((a) => a.chart?.chart === "gatekeeper");
  const [first] = rendered;
  if (!first?.chart) throw new Error("the tree renders no gatekeeper chart: nothing for the sim's Gatekeeper to run");
  const objects = rendered.map((a) => a.object);
  return {
    namespace: first.chart.release.split("/")[0] as string,
    deployments: objects.filter((o) => o.kind === "Deployment"),
    webhookConfigurations: objects.filter((o) => webhookKinds.includes(String(o.kind))),
    crds: objects.filter((o) => o.kind === "CustomResourceDefinition"),
  };
}

export interface GatekeeperPorts {
  /** The admission webhooks (HTTPS). */
  webhook: number;
  /** /healthz and /readyz (HTTP). */
  health: number;
  /** The Prometheus exporter the chart turns on (--metrics-backend=prometheus). */
  metrics: number;
}

export const gatekeeperPorts = async (): Promise<GatekeeperPorts> => ({
  webhook: await freePort(),
  health: await freePort(),
  metrics: await freePort(),
});

export interface GatekeeperPaths {
  /** tls.crt and tls.key, the names the manager reads from --cert-dir. */
  certDir: string;
  /** Audit's scratch folder (upstream default /tmp/audit, which two sims would share). */
  apiCacheDir: string;
}

export function gatekeeperPaths(layout: SimLayout): GatekeeperPaths {
  return { certDir: join(layout.certs, "gatekeeper"), apiCacheDir: join(layout.dir, "gatekeeper-audit") };
}

/** The stand-in's name for a chart's webhook configuration. */
export const standInName = (chartName: string) => `ktsw-sim-${chartName}`;

/** The placeholder Pod the manager names as its own (see placeholderPod). */
export const managerPodName = "gatekeeper-local-manager";

/** Flags the sim sets itself (a local process, not a pod); the chart's values for them are dropped. */
const simFlags = new Set([
  "port",
  "host",
  "health-addr",
  "prometheus-port",
  "metrics-addr",
  "cert-dir",
  "disable-cert-rotation",
  "api-cache-dir",
  "kubeconfig",
  "shutdown-delay",
  "validating-webhook-configuration-name",
  "mutating-webhook-configuration-name",
]);

/** Flags upstream declares repeatable: the two Deployments' values add up. */
const repeatable = new Set([
  "operation",
  "exempt-namespace",
  "exempt-namespace-prefix",
  "exempt-namespace-suffix",
  "disable-opa-builtin",
]);

const flagName = (arg: string) => arg.replace(/^--?/, "").split("=")[0] as string;

const managerContainer = (d: Obj): Obj | undefined =>
  arr(d, "spec", "template", "spec", "containers").find((c) => get(c, "name") === "manager") as Obj | undefined;

/**
 * The manager's command line: the flags of the chart's controller-manager and audit Deployments together (one
 * process runs the webhook, audit and status operations both pods run), then the sim's own. A flag the two pods set
 * to different values is an error rather than a silent pick.
 */
export function managerArgs(
  chart: GatekeeperChart,
  ports: GatekeeperPorts,
  paths: GatekeeperPaths,
  kubeconfig: string,
): string[] {
  const args: string[] = [];
  const values = new Map<string, string>();
  for (const d of chart.deployments) {
    const container = managerContainer(d);
    if (!container) throw new Error(`Deployment ${nameOf(d)} of the gatekeeper chart has no manager container`);
    for (const arg of arr(container, "args").map(String)) {
      const name = flagName(arg);
      if (simFlags.has(name) || args.includes(arg)) continue;
      const seen = values.get(name);
      if (seen !== undefined && !repeatable.has(name)) {
        throw new Error(`the gatekeeper chart's Deployments set --${name} differently (${seen}, ${arg})`);
      }
      values.set(name, arg);
      args.push(arg);
    }
  }
  const validating = chart.webhookConfigurations.find((c) => c.kind === "ValidatingWebhookConfiguration");
  const mutating = chart.webhookConfigurations.find((c) => c.kind === "MutatingWebhookConfiguration");
  return [
    ...args,
    `--kubeconfig=${kubeconfig}`,
    "--host=127.0.0.1",
    `--port=${ports.webhook}`,
    `--health-addr=127.0.0.1:${ports.health}`,
    `--prometheus-port=${ports.metrics}`,
    "--metrics-addr=0",
    `--cert-dir=${paths.certDir}`,
    "--disable-cert-rotation=true",
    `--api-cache-dir=${paths.apiCacheDir}`,
    // The delay lets a pod's Service endpoints drain before its webhook stops; a local process has none, and
    // `sim down` should not wait out 10 s (the default) for it.
    "--shutdown-delay=0",
    // The manager reads its own configuration's match rules (for the policies it generates): the stand-in's.
    ...(validating ? [`--validating-webhook-configuration-name=${standInName(nameOf(validating))}`] : []),
    ...(mutating ? [`--mutating-webhook-configuration-name=${standInName(nameOf(mutating))}`] : []),
  ];
}

/** The environment the chart's pods get from the downward API: who the manager is, where its status objects go. */
export function managerEnv(chart: GatekeeperChart): Record<string, string> {
  return { POD_NAME: managerPodName, POD_NAMESPACE: chart.namespace, CONTAINER_NAME: "manager" };
}

/**
 * A Pod object for the local manager: the manager owns its status objects (ConstraintPodStatus...) through an owner
 * reference to its own Pod, which the garbage collector checks. kwok "runs" it on a worker; it requests nothing and
 * meets Pod Security "restricted", as the chart's pods do.
 */
export function placeholderPod(chart: GatekeeperChart): Obj {
  const image = chart.deployments.map(managerContainer).find((c) => c)?.image;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: managerPodName,
      namespace: chart.namespace,
      labels: { "app.kubernetes.io/name": managerPodName, "app.kubernetes.io/managed-by": "ktsw-sim" },
    },
    spec: {
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "manager",
          image,
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
}

/** The chart's webhook configuration pointed at the local manager: same webhooks, the manager's URL and the sim's CA. */
export function standInWebhooks(config: Obj, baseUrl: string, caBundle: string): Obj {
  const name = nameOf(config);
  const webhooks = arr(config, "webhooks").map((w) => {
    const path = str(w, "clientConfig", "service", "path") ?? new URL(String(get(w, "clientConfig", "url"))).pathname;
    return { ...(w as Obj), clientConfig: { url: `${baseUrl}${path}`, caBundle } };
  });
  const labels = { ...((get(config, "metadata", "labels") as Record<string, string> | undefined) ?? {}) };
  for (const helm of ["heritage", "release", "chart", "app.kubernetes.io/managed-by"]) delete labels[helm];
  return {
    apiVersion: config.apiVersion,
    kind: config.kind,
    metadata: {
      name: standInName(name),
      labels: { ...labels, "app.kubernetes.io/managed-by": "ktsw-sim" },
      annotations: { "ktsw.dev/stands-in-for": name },
    },
    webhooks,
  };
}

/** What the sim says when it removes one of the chart's webhook configurations. */
export function takeOverMessage(config: Obj): string {
  const service = arr(config, "webhooks")
    .map((w) => get(w, "clientConfig", "service") as { namespace?: string; name?: string } | undefined)
    .find((s) => s);
  const target = service ? `Service ${service.namespace}/${service.name}` : "the chart's Service";
  return `gatekeeper: removed the chart's ${String(config.kind)} ${nameOf(config)}: it calls ${target}, whose pods kwok only pretends to run; ${standInName(nameOf(config))} (the same webhooks, calling the local manager) stands in for it`;
}

/**
 * Removes the chart's own webhook configurations if they are there (helm-controller creates them with the chart, and
 * again on each upgrade), saying so for each. Idempotent: call it after the chart is installed or upgraded.
 */
export async function takeOverChartWebhooks(
  kubectl: Kubectl,
  chart: GatekeeperChart,
  progress: Progress,
): Promise<string[]> {
  const removed: string[] = [];
  for (const config of chart.webhookConfigurations) {
    const resource = `${String(config.kind).toLowerCase()}/${nameOf(config)}`;
    const found = await kubectl(["get", resource, "--ignore-not-found", "-o", "name"]);
    if (found.trim() === "") continue;
    await kubectl(["delete", resource, "--ignore-not-found"]);
    progress(takeOverMessage(config));
    removed.push(resource);
  }
  return removed;
}

export interface GatekeeperOptions {
  layout: SimLayout;
  /** The built manager (`requireSimTool("gatekeeper", binFolder)`). */
  bin: string;
  kubectl: Kubectl;
  certs: Pick<SimCerts, "caCert" | "caKey">;
  ports: GatekeeperPorts;
  chart: GatekeeperChart;
  progress: Progress;
  /** Deadline for each wait (CRDs established, the manager ready). */
  timeoutMs: number;
}

/** The manager's serving certificate, for the address the API server calls. */
async function servingCert(o: GatekeeperOptions, paths: GatekeeperPaths): Promise<void> {
  await mkdir(paths.certDir, { recursive: true, mode: 0o700 });
  await issueLeaf(o.certs, paths.certDir, {
    name: "gatekeeper",
    key: join(paths.certDir, "tls.key"),
    cert: join(paths.certDir, "tls.crt"),
    subject: "/CN=gatekeeper-local-manager",
    // clientAuth too: with external data on (the chart's default) the manager presents it to providers.
    extensions: [...leafExtensions, "extendedKeyUsage=serverAuth,clientAuth", "subjectAltName=IP:127.0.0.1"],
  });
}

/**
 * Starts Gatekeeper's manager and registers its webhooks: the chart's CRDs are applied (helm-controller's
 * `crds: Create` then finds them and leaves them), the release's namespace and the manager's placeholder Pod
 * created, the process started and waited for (/readyz: its TLS server up and every existing policy loaded), then
 * the stand-in webhook configurations registered and the chart's own, if already there, removed.
 */
export async function startGatekeeper(o: GatekeeperOptions): Promise<Started> {
  const t0 = Date.now();
  const paths = gatekeeperPaths(o.layout);
  await servingCert(o, paths);
  await mkdir(paths.apiCacheDir, { recursive: true });
  const json = (obj: Obj) => JSON.stringify(obj);
  await o.kubectl(
    ["apply", "--server-side", "--force-conflicts", "--field-manager=ktsw-sim", "-f", "-"],
    json({ apiVersion: "v1", kind: "List", items: o.chart.crds }),
  );
  await o.kubectl([
    "wait",
    "--for=condition=Established",
    `--timeout=${Math.ceil(o.timeoutMs / 1000)}s`,
    ...o.chart.crds.map((c) => `crd/${nameOf(c)}`),
  ]);
  o.progress(`gatekeeper: applied the chart's ${o.chart.crds.length} CRDs`);
  const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: o.chart.namespace } };
  await o.kubectl(["apply", "--server-side", "--field-manager=ktsw-sim", "-f", "-"], json(namespace));
  await o.kubectl(["apply", "--server-side", "--field-manager=ktsw-sim", "-f", "-"], json(placeholderPod(o.chart)));

  const args = managerArgs(o.chart, o.ports, paths, o.layout.kubeconfig);
  const p = startDetached("gatekeeper", o.bin, args, o.layout.logs, managerEnv(o.chart));
  // Not yet recorded by the caller: a manager that never gets ready is stopped here, not left running.
  try {
    const readyz = `http://127.0.0.1:${o.ports.health}/readyz`;
    await waitReady(p, "Gatekeeper's manager to be ready", async () => (await fetch(readyz)).ok, o.timeoutMs);
    const caBundle = Buffer.from(await readFile(o.certs.caCert, "utf8")).toString("base64");
    const base = `https://127.0.0.1:${o.ports.webhook}`;
    const standIns = o.chart.webhookConfigurations.map((c) => standInWebhooks(c, base, caBundle));
    await o.kubectl(
      ["apply", "--server-side", "--force-conflicts", "--field-manager=ktsw-sim", "-f", "-"],
      json({ apiVersion: "v1", kind: "List", items: standIns }),
    );
    for (const s of standIns) o.progress(`gatekeeper: ${String(s.kind)} ${nameOf(s)} calls ${base}`);
    await takeOverChartWebhooks(o.kubectl, o.chart, o.progress);
  } catch (err) {
    await stopAll([p]);
    throw err;
  }
  o.progress(`gatekeeper started and ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${p.pid})`);
  return p;
}
