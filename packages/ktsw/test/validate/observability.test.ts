// The observability layer as the tree wires it (kubernetes/observability): Grafana's datasources
// point at Services the tree renders and link to each other by uid (metrics -> traces by exemplar,
// logs -> traces by trace_id, traces -> logs and metrics), and dashboards reach Grafana by one label.
// Each link is one a typo would break only at run time, on a real cluster.
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { arr, get, type Obj, str } from "../../src/validate/flux.ts";
import type { AppliedTree } from "../../src/validate/index.ts";
import { connectionAllowed, type PodRef, selectorMatches } from "../support/network-policies.ts";
import { appliedTree, dependsOn, theObject } from "../support/tree.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const missing = (["helm"] as const).filter((t) => !findTool(t));
if (missing.length > 0)
  console.warn(`SKIPPING the observability layer's wiring: ${missing.map((t) => missingToolMessage(t)).join("; ")}`);

const policies = (tree: AppliedTree): Obj[] =>
  tree.applied.map((a) => a.object).filter((o) => o.kind === "NetworkPolicy");
const pod = (namespace: string, name: string): PodRef => ({
  namespace,
  labels: { "app.kubernetes.io/name": name },
});

/** Grafana's provisioned datasources, as the chart writes them into its ConfigMap. */
function grafanaDatasources(tree: AppliedTree): Obj[] {
  const configMap = theObject(tree, "ConfigMap", "grafana", "observability");
  const file = parse(str(configMap, "data", "datasources.yaml") ?? "") as Obj;
  return arr(file, "datasources") as Obj[];
}

/** The Service an in-cluster URL names (<service>.<namespace>.svc:<port>) exposes that port. */
function expectServiceBehind(tree: AppliedTree, url: string): void {
  const { hostname, port } = new URL(url);
  const [service, namespace, svc] = hostname.split(".");
  expect(svc, url).toBe("svc");
  const found = theObject(tree, "Service", service ?? "", namespace);
  expect(
    arr(found, "spec", "ports").map((p) => get(p, "port")),
    url,
  ).toContain(Number(port || 80));
}

describe.skipIf(missing.length > 0)("the observability layer", () => {
  test("Grafana's datasources reach VictoriaMetrics, Loki and Tempo through their Services and link to each other by uid", async () => {
    const tree = await appliedTree();
    expect(tree.helm.findings.filter((f) => f.severity === "error")).toEqual([]);
    const sources = grafanaDatasources(tree);
    const byUid = new Map(sources.map((d) => [str(d, "uid"), d]));
    expect([...byUid.keys()].sort()).toEqual(["loki", "tempo", "victoriametrics"]);
    expect(sources.map((d) => [str(d, "uid"), str(d, "type")])).toEqual(
      expect.arrayContaining([
        ["victoriametrics", "prometheus"],
        ["loki", "loki"],
        ["tempo", "tempo"],
      ]),
    );
    // VMSingle's Service is made by the operator at run time (vmsingle-<name>), not rendered here.
    expect(str(byUid.get("victoriametrics"), "url")).toBe("http://vmsingle-vmsingle.observability.svc:8428");
    theObject(tree, "VMSingle", "vmsingle", "observability");

    for (const uid of ["loki", "tempo"]) expectServiceBehind(tree, str(byUid.get(uid), "url") ?? "");
    // Grafana may query each of them, and they admit it.
    for (const [name, port] of [
      ["vmsingle", 8428],
      ["loki", 3100],
      ["tempo", 3200],
    ] as const)
      expect(
        connectionAllowed(policies(tree), pod("observability", "grafana"), pod("observability", name), port),
        name,
      ).toBe(true);

    const metrics = byUid.get("victoriametrics");
    expect(arr(metrics, "jsonData", "exemplarTraceIdDestinations")).toEqual([
      { name: "trace_id", datasourceUid: "tempo" },
    ]);
    const [derived] = arr(byUid.get("loki"), "jsonData", "derivedFields") as Obj[];
    expect(str(derived, "datasourceUid")).toBe("tempo");
    // The app's JSON log line, as its logger writes it: the regex captures the trace id.
    const line =
      '{"level":30,"msg":"job done","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}';
    expect(new RegExp(str(derived, "matcherRegex") ?? "").exec(line)?.[1]).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    // After Flux's substitution, Grafana's provisioning reads `$$` as a literal `$`: the link is ${__value.raw}.
    expect(str(derived, "url")).toBe("$${__value.raw}");
    const tempo = byUid.get("tempo");
    expect(str(tempo, "jsonData", "tracesToLogsV2", "datasourceUid")).toBe("loki");
    expect(get(tempo, "jsonData", "tracesToLogsV2", "filterByTraceID")).toBe(true);
    expect(str(tempo, "jsonData", "tracesToMetrics", "datasourceUid")).toBe("victoriametrics");
    expect(str(tempo, "jsonData", "serviceMap", "datasourceUid")).toBe("victoriametrics");
  });

  test('dashboards reach Grafana as ConfigMaps labelled grafana_dashboard: "1" in any namespace', async () => {
    const tree = await appliedTree();
    const grafana = theObject(tree, "HelmRelease", "grafana", "observability");
    const sidecar = get(grafana, "spec", "values", "sidecar", "dashboards") as Obj;
    expect([
      get(sidecar, "enabled"),
      str(sidecar, "label"),
      str(sidecar, "labelValue"),
      str(sidecar, "searchNamespace"),
    ]).toEqual([true, "grafana_dashboard", "1", "ALL"]);
    // The sidecar lists ConfigMaps in every namespace: the chart grants it cluster-wide.
    const role = theObject(tree, "ClusterRole", "grafana-clusterrole");
    expect(JSON.stringify(get(role, "rules"))).toContain("configmaps");
    expect(dependsOn(tree, "grafana")).toContain("victoria-metrics-operator");
    // Exposed on the site's domain through Traefik, on the Service the chart renders.
    const route = theObject(tree, "IngressRoute", "grafana", "observability");
    const [service] = arr(route, "spec", "routes", 0, "services") as Obj[];
    expectServiceBehind(tree, `http://${str(service, "name")}.observability.svc:${get(service, "port")}`);
  });

  test("the app's services export traces to Tempo's OTLP/HTTP receiver, which only they may reach", async () => {
    const tree = await appliedTree();
    const config = theObject(tree, "ConfigMap", "task-processor-config", "task-processor");
    const endpoint = str(config, "data", "OTEL_EXPORTER_OTLP_ENDPOINT") ?? "";
    const { hostname, port } = new URL(endpoint);
    expect(hostname).toBe("tempo.observability.svc.cluster.local");
    expectServiceBehind(tree, `http://tempo.observability.svc:${port}`);
    const tempo = theObject(tree, "ConfigMap", "tempo", "observability");
    const receivers = get(parse(str(tempo, "data", "tempo.yaml") ?? "") as Obj, "distributor", "receivers", "otlp");
    expect(str(receivers, "protocols", "http", "endpoint")).toBe(`0.0.0.0:${port}`);
    expect(str(receivers, "protocols", "grpc", "endpoint")).toBe("0.0.0.0:4317");

    const all = policies(tree);
    const tempoPod = pod("observability", "tempo");
    for (const service of ["task-gateway", "task-worker", "task-status"])
      expect(connectionAllowed(all, pod("task-processor", service), tempoPod, Number(port)), service).toBe(true);
    // Nothing else new: not the app's other pods, not other namespaces, not Tempo's Jaeger or query ports.
    expect(connectionAllowed(all, pod("task-processor", "task-redis"), tempoPod, Number(port))).toBe(false);
    expect(connectionAllowed(all, pod("keycloak", "keycloak"), tempoPod, Number(port))).toBe(false);
    expect(connectionAllowed(all, pod("task-processor", "task-gateway"), tempoPod, 14268)).toBe(false);
    expect(connectionAllowed(all, pod("task-processor", "task-gateway"), tempoPod, 3200)).toBe(false);
    expect(dependsOn(tree, "tempo")).toEqual(
      expect.arrayContaining(["victoria-metrics-operator", "longhorn-storageclasses"]),
    );
  });

  test("every node's collector ships pod logs with Kubernetes attributes, and the control planes' audit log, to Loki's OTLP endpoint", async () => {
    const tree = await appliedTree();
    const relay = parse(
      str(
        theObject(tree, "ConfigMap", "otel-collector-opentelemetry-collector-agent", "otel-collector"),
        "data",
        "relay",
      ) ?? "",
    ) as Obj;
    const logs = get(relay, "service", "pipelines", "logs") as Obj;
    const exporters = arr(logs, "exporters") as string[];
    expect(exporters).toHaveLength(1);
    const endpoint = str(relay, "exporters", exporters[0] ?? "", "endpoint") ?? "";
    expect(new URL(endpoint).pathname).toBe("/otlp");
    const loki = new URL(endpoint);
    expect(loki.hostname).toBe("loki.observability.svc.cluster.local");
    expectServiceBehind(tree, `http://loki.observability.svc:${loki.port}`);
    expect(
      connectionAllowed(
        policies(tree),
        pod("otel-collector", "opentelemetry-collector"),
        pod("observability", "loki"),
        Number(loki.port),
      ),
    ).toBe(true);
    expect(arr(logs, "processors")).toContain("k8s_attributes");

    // Pod logs, and the audit log at the path every control plane's k3s writes it to.
    const receivers = arr(logs, "receivers") as string[];
    const includes = receivers.flatMap((r) => arr(relay, "receivers", r, "include") as string[]);
    expect(includes).toContain("/var/log/pods/*/*/*.log");
    const nodes = resolve(repo, "infrastructure/nodes");
    const auditPaths = readdirSync(nodes)
      .filter((n) => n.startsWith("cp-"))
      .map((n) => /audit-log-path=(\S+)/.exec(readFileSync(resolve(nodes, n, "user-data.yaml"), "utf8"))?.[1]);
    expect(auditPaths.length).toBeGreaterThan(0);
    for (const path of auditPaths) expect(includes).toContain(path);

    // On every node, control planes included, with the audit log's folder mounted read-only.
    const daemonSet = theObject(tree, "DaemonSet", "otel-collector-opentelemetry-collector-agent", "otel-collector");
    const podSpec = get(daemonSet, "spec", "template", "spec") as Obj;
    expect(arr(podSpec, "tolerations")).toContainEqual(
      expect.objectContaining({ key: "node-role.kubernetes.io/control-plane", operator: "Exists" }),
    );
    const mounts = arr(podSpec, "containers", 0, "volumeMounts");
    for (const path of auditPaths) {
      const folder = (path ?? "").replace(/\/[^/]+$/, "");
      expect(mounts).toContainEqual(expect.objectContaining({ mountPath: folder, readOnly: true }));
    }
    expect(dependsOn(tree, "otel-collector")).toContain("loki");
    expect(dependsOn(tree, "loki")).toEqual(
      expect.arrayContaining(["victoria-metrics-operator", "longhorn-storageclasses"]),
    );
  });

  test("every pod scrape of the platform finds pods with the ports it names, and VMAgent may reach them there", async () => {
    const tree = await appliedTree();
    const objects = tree.applied.map((a) => a.object);
    const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(String(o.kind)));
    // Pods the tree does not render: Flux's controllers (`flux install`) and CloudNativePG's instances
    // (made by the operator from a Cluster); their ports are pinned by the upstream names in the scrapes.
    const notRendered = new Set(["flux-system", "task-processor"]);
    const vmagentEgress = arr(
      theObject(tree, "NetworkPolicy", "allow-vmagent-scrape", "observability"),
      "spec",
      "egress",
    );
    const nodePorts = vmagentEgress
      .filter((rule) => arr(rule, "to").some((peer) => get(peer, "ipBlock") !== undefined))
      .flatMap((rule) => arr(rule, "ports").map((p) => get(p, "port")));
    const scrapes = objects.filter(
      (o) => o.kind === "VMPodScrape" && str(o, "metadata", "namespace") === "observability",
    );
    expect(scrapes.length).toBeGreaterThan(0);
    for (const scrape of scrapes) {
      const namespaces = (arr(scrape, "spec", "namespaceSelector", "matchNames") as string[]).filter(
        (n) => !notRendered.has(n),
      );
      if (namespaces.length === 0) continue;
      const selector = get(scrape, "spec", "selector");
      const matched = workloads.filter((w) => {
        const labels = (get(w, "spec", "template", "metadata", "labels") ?? {}) as Record<string, string>;
        return namespaces.includes(str(w, "metadata", "namespace") ?? "") && selectorMatches(selector, labels);
      });
      const name = str(scrape, "metadata", "name");
      expect(matched.length, `${name} selects rendered pods`).toBeGreaterThan(0);
      for (const endpoint of arr(scrape, "spec", "podMetricsEndpoints")) {
        const wanted = str(endpoint, "port") ?? get(endpoint, "portNumber");
        const hits = matched.flatMap((w) =>
          arr(w, "spec", "template", "spec", "containers")
            .flatMap((c) => arr(c, "ports"))
            .filter((p) => get(p, "name") === wanted || get(p, "containerPort") === wanted)
            .map((p) => ({ workload: w, port: get(p, "containerPort") as number })),
        );
        expect(hits.length, `${name}: a selected pod declares port ${wanted}`).toBeGreaterThan(0);
        for (const { workload, port } of hits) {
          const template = get(workload, "spec", "template") as Obj;
          if (get(template, "spec", "hostNetwork") === true)
            expect(nodePorts, `${name}: node port ${port}`).toContain(port);
          else {
            const target = {
              namespace: str(workload, "metadata", "namespace") ?? "",
              labels: (get(template, "metadata", "labels") ?? {}) as Record<string, string>,
            };
            expect(
              connectionAllowed(policies(tree), pod("observability", "vmagent"), target, port),
              `${name}: ${port}`,
            ).toBe(true);
          }
        }
      }
    }
    // The kubelets (and their cAdvisor) on every node, over the port VMAgent may reach.
    const nodeScrapes = objects.filter((o) => o.kind === "VMNodeScrape");
    expect(nodeScrapes.map((o) => str(o, "spec", "path")).sort()).toEqual(["/metrics", "/metrics/cadvisor"]);
    for (const o of nodeScrapes) expect(nodePorts).toContain(Number(str(o, "spec", "port")));
  });

  test("the platform dashboards reach Grafana from Git with golden signals, and the overview links every platform and app dashboard by uid", async () => {
    const tree = await appliedTree();
    const configMap = theObject(tree, "ConfigMap", "grafana-dashboards-platform", "observability");
    expect(str(configMap, "metadata", "labels", "grafana_dashboard")).toBe("1");
    // Flux must not substitute inside dashboard JSON.
    expect(str(configMap, "metadata", "annotations", "kustomize.toolkit.fluxcd.io/substitute")).toBe("disabled");
    const dashboards = Object.values((get(configMap, "data") ?? {}) as Record<string, string>).map(
      (j) => JSON.parse(j) as Obj,
    );
    const uids = dashboards.map((d) => str(d, "uid"));
    expect(uids.sort()).toEqual([
      "ktsw-platform-apiserver",
      "ktsw-platform-cilium",
      "ktsw-platform-flux",
      "ktsw-platform-overview",
    ]);
    for (const d of dashboards) {
      const panels = arr(d, "panels");
      const rows = panels.filter((p) => get(p, "type") === "row").map((p) => str(p, "title"));
      const queries = panels.flatMap((p) => arr(p, "targets"));
      expect(queries.length, str(d, "uid")).toBeGreaterThan(0);
      for (const q of queries) {
        expect(get(q, "datasource")).toEqual({ type: "prometheus", uid: "victoriametrics" });
        expect(str(q, "expr")?.trim()).toBeTruthy();
      }
      const exprs = queries.map((q) => str(q, "expr") ?? "");
      for (const quantile of ["0.5", "0.95", "0.99"])
        expect(
          exprs.some((e) => e.startsWith(`histogram_quantile(${quantile},`)),
          `${str(d, "uid")} p${quantile}`,
        ).toBe(true);
      if (str(d, "uid") !== "ktsw-platform-overview")
        expect(rows).toEqual(["Latency", "Traffic", "Errors", "Saturation"]);
    }
    const overview = dashboards.find((d) => str(d, "uid") === "ktsw-platform-overview");
    const linked = arr(overview, "links").map((l) => str(l, "url"));
    for (const uid of [
      "ktsw-task-overview",
      "ktsw-task-gateway",
      "ktsw-task-worker",
      "ktsw-task-status",
      "ktsw-platform-apiserver",
      "ktsw-platform-flux",
      "ktsw-platform-cilium",
    ])
      expect(linked).toContain(`/d/${uid}`);
  });

  test("VMAlert evaluates every VMRule; Flux, certificate and BGP alerts each carry a runbook", async () => {
    const tree = await appliedTree();
    const vmalert = theObject(tree, "VMAlert", "vmalert", "observability");
    expect(get(vmalert, "spec", "selectAllByDefault")).toBe(true);
    expect(str(vmalert, "spec", "datasource", "url")).toBe("http://vmsingle-vmsingle.observability.svc:8428");
    expect(
      connectionAllowed(policies(tree), pod("observability", "vmalert"), pod("observability", "vmsingle"), 8428),
    ).toBe(true);
    const rules = arr(theObject(tree, "VMRule", "platform-alerts", "observability"), "spec", "groups").flatMap((g) =>
      arr(g, "rules"),
    );
    const byName = new Map(rules.map((r) => [str(r, "alert"), r]));
    const expected = {
      FluxReconciliationFailing: "controller_runtime_reconcile_errors_total",
      CertificateExpiringSoon: "certmanager_certificate_expiration_timestamp_seconds",
      BGPSessionDown: "metallb_bgp_session_up",
    };
    for (const [alert, metric] of Object.entries(expected)) {
      const rule = byName.get(alert);
      expect(str(rule, "expr"), alert).toContain(metric);
      expect(str(rule, "annotations", "runbook")?.length ?? 0, alert).toBeGreaterThan(50);
      expect(str(rule, "labels", "severity"), alert).toMatch(/^(warning|critical)$/);
    }
  });

  test("VMAlert notifies the tree's Alertmanager through the Service the operator makes, and only VMAlert may send to it", async () => {
    const tree = await appliedTree();
    const vmalert = theObject(tree, "VMAlert", "vmalert", "observability");
    const am = theObject(tree, "VMAlertmanager", "alertmanager", "observability");
    // The operator names the Service vmalertmanager-<name> and serves spec.port, 9093 unless set (v0.74.0); it is
    // made at run time, so the URL is checked against the CR it comes from.
    expect(get(am, "spec", "port")).toBeUndefined();
    expect(str(vmalert, "spec", "notifier", "url")).toBe(
      `http://vmalertmanager-${str(am, "metadata", "name")}.observability.svc:9093`,
    );
    expect(get(vmalert, "spec", "extraArgs", "notifier.blackhole")).toBeUndefined();
    expect(dependsOn(tree, "alertmanager")).toEqual(
      expect.arrayContaining(["victoria-metrics-operator", "longhorn-storageclasses"]),
    );
    // The receivers' URLs are files of the Secret the operator mounts, and the Secret is in the tree.
    expect(arr(am, "spec", "secrets")).toEqual(["alertmanager-receiver"]);
    theObject(tree, "Secret", "alertmanager-receiver", "observability");
    expect(str(am, "spec", "configRawYaml")).toContain("/etc/vm/secrets/alertmanager-receiver/url");

    const all = policies(tree);
    const alertmanager = pod("observability", "vmalertmanager");
    expect(connectionAllowed(all, pod("observability", "vmalert"), alertmanager, 9093)).toBe(true);
    // VMAgent scrapes it (the operator's VMServiceScrape): Alertmanager's metrics and its config-reloader's.
    expect(connectionAllowed(all, pod("observability", "vmagent"), alertmanager, 9093)).toBe(true);
    expect(connectionAllowed(all, pod("observability", "vmagent"), alertmanager, 8435)).toBe(true);
    // Nobody else: not Grafana, not the app, not the gossip port.
    expect(connectionAllowed(all, pod("observability", "grafana"), alertmanager, 9093)).toBe(false);
    expect(connectionAllowed(all, pod("task-processor", "task-gateway"), alertmanager, 9093)).toBe(false);
    expect(connectionAllowed(all, pod("observability", "vmalert"), alertmanager, 9094)).toBe(false);
    // Its way out to the site's receivers: HTTPS and SMTP submission, outside the private ranges.
    const egress = all.find((p) => str(p, "metadata", "name") === "allow-alertmanager-receivers");
    expect(get(egress, "spec", "podSelector", "matchLabels")).toEqual({ "app.kubernetes.io/name": "vmalertmanager" });
    expect(arr(egress, "spec", "egress", 0, "ports").map((p) => get(p, "port"))).toEqual([443, 587]);
    expect(get(egress, "spec", "egress", 0, "to", 0, "ipBlock", "except")).toEqual([
      "10.0.0.0/8",
      "172.16.0.0/12",
      "192.168.0.0/16",
    ]);
  });
});
