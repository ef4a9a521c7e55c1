// MetalLB's controller in the sim: the release of the tree's chart, run as a local process with the admin kubeconfig.
// Its work is pure API: it watches LoadBalancer Services and the tree's IPAddressPools and writes each Service's
// address into its status (the IPAM). Without it a LoadBalancer Service (Traefik's) never gets an address, never
// counts as Ready, and everything after it waits. What it cannot do here is announce: that is the speaker's BGP job,
// proven on real FRR in the network lab, not on the sim.
//
// Settings come from the chart as the tree renders it (the controller Deployment's flags and its namespace); the sim
// only picks a free metrics port and turns the controller's own webhook off: the chart's webhook configuration calls
// a Service with no real backend, and the sim relaxes it like every such webhook (webhooks.ts), printing it.
import type { Obj } from "../validate/flux.ts";
import { arr, get, nameOf } from "../validate/flux.ts";
import type { AppliedObject } from "../validate/walk.ts";
import type { Progress } from "./cluster.ts";
import type { Kubectl } from "./kubectl.ts";
import type { SimLayout } from "./layout.ts";
import { type Started, startDetached, stopAll, waitReady } from "./processes.ts";

export interface MetallbChart {
  namespace: string;
  /** The controller Deployment's `controller` container. */
  controller: Obj;
  crds: Obj[];
}

export function metallbChart(applied: readonly AppliedObject[]): MetallbChart {
  const rendered = applied.filter((a) => a.chart?.chart === "metallb");
  const [first] = rendered;
  if (!first?.chart)
    throw new Error("the tree renders no metallb chart: nothing for the sim's MetalLB controller to run");
  const objects = rendered.map((a) => a.object);
  const deployment = objects.find((o) => o.kind === "Deployment" && /controller/.test(nameOf(o)));
  const controller = deployment
    ? (arr(deployment, "spec", "template", "spec", "containers").find((c) => get(c, "name") === "controller") as
        | Obj
        | undefined)
    : undefined;
  if (!controller) throw new Error("the metallb chart renders no controller Deployment with a `controller` container");
  return {
    namespace: first.chart.release.split("/")[0] as string,
    controller,
    crds: objects.filter((o) => o.kind === "CustomResourceDefinition"),
  };
}

/** Flags the sim sets itself; the chart's values for them are dropped. */
const simFlags = new Set(["port", "webhook-mode", "namespace", "ml-secret-name", "deployment", "cert-dir"]);

export function controllerArgs(chart: MetallbChart, metricsPort: number): string[] {
  const fromChart = arr(chart.controller, "args")
    .map(String)
    .filter((a) => !simFlags.has(a.replace(/^--?/, "").split("=")[0] as string));
  return [
    ...fromChart,
    `--namespace=${chart.namespace}`,
    `--port=${metricsPort}`,
    // Its webhook would need a serving certificate and a configuration pointing at this process; the chart's is
    // relaxed instead, so MetalLB's CRs are not validated on the sim (`ktsw validate` checks them against schemas).
    "--webhook-mode=disabled",
  ];
}

export interface MetallbOptions {
  layout: SimLayout;
  bin: string;
  kubectl: Kubectl;
  chart: MetallbChart;
  metricsPort: number;
  progress: Progress;
  timeoutMs: number;
}

/** Applies the chart's CRDs (helm-controller finds them and leaves them), starts the controller, waits for /metrics. */
export async function startMetallbController(o: MetallbOptions): Promise<Started> {
  const t0 = Date.now();
  const apply = ["apply", "--server-side", "--force-conflicts", "--field-manager=ktsw-sim", "-f", "-"];
  await o.kubectl(apply, JSON.stringify({ apiVersion: "v1", kind: "List", items: o.chart.crds }));
  await o.kubectl([
    "wait",
    "--for=condition=Established",
    `--timeout=${Math.ceil(o.timeoutMs / 1000)}s`,
    ...o.chart.crds.map((c) => `crd/${nameOf(c)}`),
  ]);
  await o.kubectl(
    apply,
    JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: o.chart.namespace } }),
  );
  const p = startDetached("metallb-controller", o.bin, controllerArgs(o.chart, o.metricsPort), o.layout.logs, {
    KUBECONFIG: o.layout.kubeconfig,
  });
  try {
    await waitReady(
      p,
      "MetalLB's controller to serve its metrics",
      async () => (await fetch(`http://127.0.0.1:${o.metricsPort}/metrics`)).ok,
      o.timeoutMs,
    );
  } catch (err) {
    await stopAll([p]);
    throw err;
  }
  o.progress(
    `metallb-controller started and ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${p.pid}): it assigns LoadBalancer addresses from the tree's pools`,
  );
  return p;
}
