// Gatekeeper on a real sim: the manager of the tree's chart runs as a local process behind real webhook
// configurations, the tree's ConstraintTemplates and Constraints are applied, and then the API server itself denies
// a non-compliant Deployment with the constraints' messages, while every workload the tree creates (its own and its
// charts') is admitted. One sim for the file (starting one, and rendering the tree, are the slow parts).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { templatePods } from "../../src/capacity/workloads.ts";
import { defaultValidateOptions, treeSources } from "../../src/commands/validate.ts";
import { loadConfig } from "../../src/config/load.ts";
import { poll } from "../../src/lab/net/poll.ts";
import { certFiles } from "../../src/sim/certs.ts";
import {
  type GatekeeperChart,
  gatekeeperChart,
  gatekeeperPorts,
  managerPodName,
  standInName,
  startGatekeeper,
  takeOverChartWebhooks,
} from "../../src/sim/gatekeeper.ts";
import { type Kubectl, simKubectl } from "../../src/sim/kubectl.ts";
import { simLayout } from "../../src/sim/layout.ts";
import { type Started, stopAll } from "../../src/sim/processes.ts";
import { defaultSimBin, requireSimTool } from "../../src/tools/find.ts";
import { arr, groupOf, nameOf, namespaceOf, type Obj } from "../../src/validate/flux.ts";
import { buildAppliedTree } from "../../src/validate/index.ts";
import { repo } from "../support/cli.ts";
import { simCli, simFolder, simUnavailable, type TestSim, testSim } from "./sim-support.ts";

const why = simUnavailable();
if (why) console.warn(`SKIPPING Gatekeeper sim tests: ${why}`);

const workloadKinds = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"];
const serverSide = ["apply", "--server-side", "--force-conflicts", "--field-manager=ktsw-test", "-f", "-"];
const list = (items: Obj[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items });

/** The error a kubectl call ends with, or "" when it succeeded. */
const failure = (call: Promise<string>) =>
  call.then(
    () => "",
    (err: Error) => err.message,
  );

/** A Deployment that breaks every workload constraint of the tree: no labels, root, no resources, no probes,
 *  an image from Docker Hub on `latest`. */
const nonCompliant = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "careless", namespace: "gk-test" },
  spec: {
    selector: { matchLabels: { run: "careless" } },
    template: {
      metadata: { labels: { run: "careless" } },
      spec: { containers: [{ name: "web", image: "nginx:latest", securityContext: { runAsUser: 0 } }] },
    },
  },
};

describe.skipIf(why)("Gatekeeper on a sim of the site", () => {
  let sim: TestSim;
  let kubectl: Kubectl;
  let manager: Started | undefined;
  let chart: GatekeeperChart;
  let applied: Obj[];
  const progress: string[] = [];
  const workloads = () => applied.filter((o) => workloadKinds.includes(String(o.kind)));

  beforeAll(async () => {
    sim = testSim(simFolder());
    const up = await simCli(sim.dir, ["up", "--no-build", "--timeout", "200"]);
    if (up.code !== 0) throw new Error(`sim up failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
    const { config } = await loadConfig(`${repo}/ktsw.yaml`);
    if (!config) throw new Error("ktsw.yaml does not load");
    const tree = await buildAppliedTree(treeSources(repo, config, defaultValidateOptions));
    applied = tree.applied.map((a) => a.object);
    chart = gatekeeperChart(tree.applied);
    const layout = simLayout(sim.dir);
    kubectl = simKubectl(defaultSimBin, layout.kubeconfig);
    manager = await startGatekeeper({
      layout,
      bin: requireSimTool("gatekeeper"),
      kubectl,
      certs: certFiles(layout.certs),
      ports: await gatekeeperPorts(),
      chart,
      progress: (line) => progress.push(line),
      timeoutMs: 180_000,
    });

    // The tree's three Gatekeeper steps, as Flux orders them: templates (and the sync Config), then constraints
    // once Gatekeeper has made their kinds.
    const ofGroup = (group: string) => applied.filter((o) => groupOf(o) === group);
    const templates = ofGroup("templates.gatekeeper.sh");
    await kubectl(serverSide, list([...templates, ...ofGroup("config.gatekeeper.sh")]));
    await poll(
      `Gatekeeper to create the kinds of the tree's ${templates.length} ConstraintTemplates`,
      async () => JSON.parse(await kubectl(["get", "constrainttemplates", "-o", "json"])) as { items: Obj[] },
      (r) => r.items.length === templates.length && r.items.every((t) => (t.status as Obj | undefined)?.created),
      { timeoutMs: 120_000, everyMs: 500 },
    );
    const constraints = ofGroup("constraints.gatekeeper.sh");
    // The kinds are served a moment after `created`: applied again until the API server knows them.
    await poll(
      "the tree's constraints to be accepted",
      () => kubectl(serverSide, list(constraints)),
      () => true,
      { timeoutMs: 60_000, everyMs: 500 },
    );
    type ByPod = { id: string; enforced?: boolean }[];
    await poll(
      `the manager to enforce all ${constraints.length} constraints`,
      async () => (JSON.parse(await kubectl(["get", "constraints", "-o", "json"])) as { items: Obj[] }).items,
      (items) =>
        items.length === constraints.length &&
        items.every((c) =>
          ((c.status as { byPod?: ByPod } | undefined)?.byPod ?? []).some((p) => p.id === managerPodName && p.enforced),
        ),
      { timeoutMs: 120_000, everyMs: 500 },
    );
    await kubectl(["create", "namespace", "gk-test"]);

    // What the tree's workloads need to be created in: their namespaces, for real (the tree's own with its labels;
    // the namespace policy only warns at admission; any other, a chart's release namespace, bare), each with the
    // `default` ServiceAccount the controller manager makes, and the tree's ServiceAccounts their pods name.
    await kubectl(serverSide, list(applied.filter((o) => o.kind === "Namespace")));
    const existing = new Set((await kubectl(["get", "namespaces", "-o", "name"])).trim().split("\n"));
    const namespaces = new Set(workloads().map((w) => namespaceOf(w) ?? "default"));
    for (const ns of namespaces) {
      if (!existing.has(`namespace/${ns}`)) await kubectl(["create", "namespace", ns]);
    }
    await poll(
      "the controller manager to create each namespace's default ServiceAccount",
      async () =>
        await kubectl(["get", "serviceaccounts", "-A", "--field-selector=metadata.name=default", "-o", "name"]),
      (names) => names.trim().split("\n").length >= namespaces.size,
      { timeoutMs: 60_000, everyMs: 500 },
    );
    await kubectl(serverSide, list(applied.filter((o) => o.kind === "ServiceAccount")));
    // And the PriorityClasses their pods name (Longhorn's): the API server's Priority admission refuses a pod whose
    // class does not exist.
    await kubectl(serverSide, list(applied.filter((o) => o.kind === "PriorityClass")));
  }, 600_000);

  afterAll(async () => {
    if (manager) await stopAll([manager]);
    await sim?.remove();
  });

  test("the manager runs with the flags the tree's HelmRelease values give the chart's two pods", () => {
    const argv = readFileSync(`/proc/${manager?.pid}/cmdline`, "utf8").split("\0");
    // kubernetes/platform/gatekeeper/app/helmrelease.yaml: auditInterval, constraintViolationsLimit, logDenies,
    // disabledBuiltins; and the operations of the audit pod and of the webhook pod, in one process.
    for (const flag of [
      "--audit-interval=60",
      "--constraint-violations-limit=50",
      "--log-denies=true",
      "--disable-opa-builtin={http.send}",
      "--operation=audit",
      "--operation=status",
      "--operation=webhook",
      "--exempt-namespace=gatekeeper-system",
      "--disable-cert-rotation=true",
    ]) {
      expect(argv).toContain(flag);
    }
  });

  test("the API server calls the manager through the stand-in webhook configurations", async () => {
    const names = (
      await kubectl(["get", "validatingwebhookconfigurations,mutatingwebhookconfigurations", "-o", "name"])
    )
      .trim()
      .split("\n");
    for (const c of chart.webhookConfigurations) {
      expect(names).toContain(`${String(c.kind).toLowerCase()}.admissionregistration.k8s.io/${standInName(nameOf(c))}`);
      expect(progress.join("\n")).toContain(
        `gatekeeper: ${String(c.kind)} ${standInName(nameOf(c))} calls https://127.0.0.1:`,
      );
    }
  });

  test("a non-compliant Deployment is denied by the API server with each constraint's message", async () => {
    const denied = await failure(kubectl(["apply", "--dry-run=server", "-f", "-"], JSON.stringify(nonCompliant)));
    expect(denied).toContain('admission webhook "validation.gatekeeper.sh" denied the request');
    const container = 'container "web" (spec.template.spec.containers[0])';
    for (const message of [
      `[image-provenance] ${container}: image "nginx:latest" uses the mutable tag latest; pin a version tag or @sha256 digest`,
      `[no-root-containers] ${container}: securityContext.runAsUser is 0 (root); set a non-zero UID such as 65532`,
      `[application-probes] ${container}: add a readinessProbe (httpGet, tcpSocket, grpc or exec)`,
      `[container-resources] ${container}: set resources.requests.cpu`,
      '[app-labels] metadata.labels: add label "app.kubernetes.io/name"',
    ]) {
      expect(denied).toContain(message);
    }
  });

  /** The objects that `create --dry-run=server` refuses, each with the API server's answer. */
  const refusedOf = async (objects: Obj[]) => {
    const refused: string[] = [];
    for (const o of objects) {
      const why = await failure(kubectl(["create", "--dry-run=server", "-o", "name", "-f", "-"], JSON.stringify(o)));
      if (why) refused.push(`${String(o.kind)} ${namespaceOf(o)}/${nameOf(o)}: ${why}`);
    }
    return refused;
  };

  /** Not admitted by a manager that had stopped answering (the chart's policy fails open): it still denies. */
  const stillDenies = async () =>
    expect(await failure(kubectl(["apply", "--dry-run=server", "-f", "-"], JSON.stringify(nonCompliant)))).toContain(
      'admission webhook "validation.gatekeeper.sh" denied the request',
    );

  test("every workload the tree creates, its own and its charts', is admitted", async () => {
    expect(workloads().length).toBeGreaterThan(20);
    expect(await refusedOf(workloads())).toEqual([]);
    await stillDenies();
  });

  /** The StatefulSet controller gives each pod a volume per claim template, bound to that pod's own claim. */
  const claimVolumes = (w: Obj) =>
    arr(w, "spec", "volumeClaimTemplates").map((c) => ({
      name: nameOf(c as Obj),
      persistentVolumeClaim: { claimName: `${nameOf(c as Obj)}-${nameOf(w)}-0` },
    }));

  test("so is each pod their controllers make from them (the constraints match Pods too)", async () => {
    const pods = workloads().map((w) => {
      const pod = templatePods(w);
      return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `${nameOf(w)}-pod`,
          namespace: namespaceOf(w) ?? "default",
          ...(pod?.labels ? { labels: pod.labels } : {}),
          ...(pod?.annotations ? { annotations: pod.annotations } : {}),
        },
        spec: { ...(pod?.spec as Obj), volumes: [...arr(pod?.spec, "volumes"), ...claimVolumes(w)] },
      };
    });
    expect(await refusedOf(pods)).toEqual([]);
    await stillDenies();
  });

  test("the chart's own webhook configurations are removed when they appear, each removal said, the stand-ins kept", async () => {
    await kubectl(serverSide, list(chart.webhookConfigurations));
    const said: string[] = [];
    const removed = await takeOverChartWebhooks(kubectl, chart, (line) => said.push(line));
    expect(removed).toHaveLength(chart.webhookConfigurations.length);
    expect(said).toHaveLength(chart.webhookConfigurations.length);
    for (const c of chart.webhookConfigurations) {
      const resource = `${String(c.kind).toLowerCase()}/${nameOf(c)}`;
      expect(said.join("\n")).toContain(`removed the chart's ${String(c.kind)} ${nameOf(c)}: it calls Service`);
      expect((await kubectl(["get", resource, "--ignore-not-found", "-o", "name"])).trim()).toBe("");
    }
    // The stand-in's check-ignore-label webhook still answers (it fails closed): only exempt namespaces may carry
    // the ignore label.
    const labelled = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "gk-sneaky", labels: { "admission.gatekeeper.sh/ignore": "yes" } },
    };
    const denied = await failure(kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(labelled)));
    expect(denied).toContain('admission webhook "check-ignore-label.gatekeeper.sh" denied the request');
  });
});
