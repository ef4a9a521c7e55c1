// The capacity plan, rule by rule, on clusters built for each test: what the pods ask for (by
// Kubernetes' own rules), where the scheduler's filters let them go, and the findings validate prints.
import { describe, expect, test } from "vitest";
import { capacityFindings } from "../../src/capacity/findings.ts";
import { layerOf, planCapacity } from "../../src/capacity/index.ts";
import { capacitySection } from "../../src/capacity/markdown.ts";
import { capacityNodes, capacitySite } from "../../src/capacity/nodes.ts";
import { GiB, MiB, parseCpu, parseMemory } from "../../src/capacity/quantity.ts";
import { podResources } from "../../src/capacity/resources.ts";
import { exampleConfig } from "../render/support.ts";
import { at, controlPlane, node, requests, workload } from "./support.ts";

const plan = (objects: Parameters<typeof planCapacity>[0], nodes: Parameters<typeof planCapacity>[1]) =>
  planCapacity(objects, nodes, { parents: new Map() });
const podsOn = (p: ReturnType<typeof plan>) => Object.fromEntries(p.nodes.map((l) => [l.node.name, l.pods]));

describe("quantities", () => {
  test("CPU in millicores and memory in bytes, every suffix Kubernetes accepts", () => {
    expect([
      parseCpu("100m"),
      parseCpu("1"),
      parseCpu("0.5"),
      parseCpu(2),
      parseCpu("1.5"),
      parseCpu("250000u"),
    ]).toEqual([100, 1000, 500, 2000, 1500, 250]);
    expect([
      parseMemory("256Mi"),
      parseMemory("1Gi"),
      parseMemory("1G"),
      parseMemory("128974848"),
      parseMemory("1e3"),
    ]).toEqual([256 * MiB, GiB, 1e9, 128974848, 1000]);
    expect(parseMemory("12 apples")).toBeUndefined();
    expect(parseCpu("")).toBeUndefined();
  });
});

describe("pod requests", () => {
  test("containers add up; an init container counts only when it is the largest", () => {
    const r = podResources({
      initContainers: [{ name: "migrate", resources: requests("500m", "64Mi") }],
      containers: [
        { name: "a", resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } } },
        {
          name: "b",
          resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
        },
      ],
    });
    expect(r.requests).toEqual({ cpu: 500, memory: 192 * MiB });
    expect(r.limits).toEqual({ cpu: 1500, memory: 384 * MiB });
    expect(r.problems).toEqual([]);
  });

  test("a sidecar (restartPolicy Always) adds to the containers and to every init container after it", () => {
    const r = podResources({
      initContainers: [
        { name: "proxy", restartPolicy: "Always", resources: requests("10m", "20Mi") },
        { name: "setup", resources: requests("300m", "10Mi") },
      ],
      containers: [{ name: "app", resources: requests("100m", "100Mi") }],
    });
    // Containers 110m/120Mi; the init phase peaks at setup + proxy = 310m.
    expect(r.requests).toEqual({ cpu: 310, memory: 120 * MiB });
  });

  test("a limit without a request is the request; a container without either is named per resource", () => {
    const r = podResources({
      containers: [
        { name: "limited", resources: { limits: { cpu: "200m", memory: "64Mi" } } },
        { name: "bare" },
        { name: "half", resources: { requests: { cpu: "10m" } } },
      ],
    });
    expect(r.requests).toEqual({ cpu: 210, memory: 64 * MiB });
    expect(r.problems.map((p) => `${p.container} ${p.message}`)).toEqual([
      "bare has no cpu request",
      "bare has no memory request",
      "half has no memory request",
    ]);
    expect(r.unlimited).toEqual(["cpu", "memory"]);
  });
});

describe("placement", () => {
  test("least allocated first: replicas spread over equal nodes, totals per node add up", () => {
    const p = plan([workload("web", { replicas: 4 })], [node("a"), node("b")]);
    expect(podsOn(p)).toEqual({ a: 2, b: 2 });
    expect(p.nodes[0]?.requests).toEqual({ cpu: 200, memory: 256 * MiB });
    expect(p.unplaced).toEqual([]);
  });

  test("nodeSelector: pods go only to nodes with the label", () => {
    const ssd = node("ssd", { labels: { disk: "ssd" } });
    const p = plan([workload("db", { replicas: 3, pod: { nodeSelector: { disk: "ssd" } } })], [node("a"), ssd]);
    expect(podsOn(p)).toEqual({ a: 0, ssd: 3 });
  });

  test("required node affinity: NotIn keeps pods off the named nodes", () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "NotIn", values: ["a"] }] },
          ],
        },
      },
    };
    const p = plan([workload("web", { replicas: 2, pod: { affinity } })], [node("a"), node("b")]);
    expect(podsOn(p)).toEqual({ a: 0, b: 2 });
  });

  test("taints: control planes take only pods that tolerate their taint", () => {
    const nodes = [controlPlane("cp"), node("w")];
    const plain = plan([workload("web", { replicas: 2 })], nodes);
    expect(podsOn(plain)).toEqual({ cp: 0, w: 2 });
    const tolerating = plan(
      [
        workload("web", {
          replicas: 2,
          pod: {
            tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }],
          },
        }),
      ],
      nodes,
    );
    expect(podsOn(tolerating)).toEqual({ cp: 1, w: 1 });
  });

  test("DaemonSets: one pod on every node they may run on, before anything else", () => {
    const everywhere = workload("agent", { kind: "DaemonSet", pod: { tolerations: [{ operator: "Exists" }] } });
    const workersOnly = workload("logs", { kind: "DaemonSet" });
    const p = plan(
      [workload("web", { replicas: 1 }), workersOnly, everywhere],
      [controlPlane("cp"), node("w1"), node("w2")],
    );
    expect(podsOn(p)).toEqual({ cp: 1, w1: 3, w2: 2 });
    expect(p.placements.filter((x) => x.workload.name === "logs").map((x) => x.node)).toEqual(["w1", "w2"]);
  });

  test("required pod anti-affinity on hostname: one replica per node, the rest fit nowhere and say why", () => {
    const affinity = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { app: "db" } }, topologyKey: "kubernetes.io/hostname" },
        ],
      },
    };
    const p = plan([workload("db", { replicas: 3, pod: { affinity } })], [node("a"), node("b")]);
    expect(podsOn(p)).toEqual({ a: 1, b: 1 });
    expect(p.unplaced.map((u) => u.reason)).toEqual([
      "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.",
    ]);
  });

  test("topology spread DoNotSchedule counts tainted nodes as empty domains unless nodeTaintsPolicy is Honor", () => {
    const spread = (policy?: string) => ({
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: "kubernetes.io/hostname",
          whenUnsatisfiable: "DoNotSchedule",
          labelSelector: { matchLabels: { app: "nats" } },
          ...(policy ? { nodeTaintsPolicy: policy } : {}),
        },
      ],
    });
    const nodes = [controlPlane("cp"), node("w1"), node("w2")];
    // Default (Ignore): cp is a domain with 0 pods, so a second pod on a worker would make a skew of 2.
    const ignore = plan([workload("nats", { replicas: 3, pod: spread() })], nodes);
    expect(podsOn(ignore)).toEqual({ cp: 0, w1: 1, w2: 1 });
    expect(ignore.unplaced.map((u) => u.reason)).toEqual([
      "0/3 nodes are available: 2 node(s) didn't match pod topology spread constraints, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }.",
    ]);
    const honor = plan([workload("nats", { replicas: 3, pod: spread("Honor") })], nodes);
    expect(podsOn(honor)).toEqual({ cp: 0, w1: 2, w2: 1 });
    // ScheduleAnyway only scores: never a reason not to place.
    const soft = spread();
    (soft.topologySpreadConstraints[0] as { whenUnsatisfiable: string }).whenUnsatisfiable = "ScheduleAnyway";
    expect(plan([workload("nats", { replicas: 3, pod: soft })], nodes).unplaced).toEqual([]);
  });

  test("required pod affinity: follows the pods it names onto their node", () => {
    const affinity = {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { app: "cache" } }, topologyKey: "kubernetes.io/hostname" },
        ],
      },
    };
    const cache = workload("cache", { pod: { nodeSelector: { "kubernetes.io/hostname": "b" } } });
    const p = plan([cache, workload("web", { replicas: 2, pod: { affinity } })], [node("a"), node("b")]);
    expect(podsOn(p)).toEqual({ a: 0, b: 3 });
  });

  test("a stack too big: the pods that fit nowhere are named with the scheduler's reason", () => {
    const big = workload("big", { replicas: 3, containers: [{ name: "main", resources: requests("100m", "3Gi") }] });
    const p = plan([big], [node("a"), node("b")]);
    expect(p.unplaced).toHaveLength(1);
    expect(p.unplaced[0]?.reason).toBe("0/2 nodes are available: 2 Insufficient memory.");
    const pods = plan(
      [workload("many", { replicas: 3 })],
      [node("a", { allocatable: { cpu: 4000, memory: 8 * GiB, pods: 2 } })],
    );
    expect(pods.unplaced[0]?.reason).toBe("0/1 nodes are available: 1 Too many pods.");
  });
});

describe("operators' custom resources", () => {
  test("CloudNativePG Cluster: instances × spec.resources; required anti-affinity puts one per node", () => {
    const cluster = (antiAffinity: string) =>
      at({
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "Cluster",
        metadata: { name: "pg", namespace: "demo" },
        spec: {
          instances: 3,
          resources: requests("200m", "512Mi"),
          affinity: { podAntiAffinityType: antiAffinity },
        },
      });
    const preferred = plan([cluster("preferred")], [node("a"), node("b")]);
    expect(preferred.unplaced).toEqual([]);
    expect(preferred.layers[0]).toMatchObject({ pods: 3, requests: { cpu: 600, memory: 1536 * MiB } });
    const required = plan([cluster("required")], [node("a"), node("b")]);
    expect(podsOn(required)).toEqual({ a: 1, b: 1 });
    expect(required.unplaced).toHaveLength(1);
  });

  test("Keycloak, VMSingle, VMAgent, VMAlert and VMAlertmanager (with their config-reloader) are sized from the resource", () => {
    const keycloak = at({
      apiVersion: "k8s.keycloak.org/v2alpha1",
      kind: "Keycloak",
      metadata: { name: "kc", namespace: "demo" },
      spec: { instances: 2, resources: requests("250m", "768Mi") },
    });
    const vmagent = at({
      apiVersion: "operator.victoriametrics.com/v1beta1",
      kind: "VMAgent",
      metadata: { name: "agent", namespace: "demo" },
      spec: { resources: requests("100m", "256Mi"), configReloaderResources: requests("10m", "32Mi") },
    });
    const vmsingle = at({
      apiVersion: "operator.victoriametrics.com/v1beta1",
      kind: "VMSingle",
      metadata: { name: "single", namespace: "demo" },
      spec: { resources: requests("100m", "512Mi") },
    });
    const vmalert = at({
      apiVersion: "operator.victoriametrics.com/v1beta1",
      kind: "VMAlert",
      metadata: { name: "alert", namespace: "demo" },
      spec: { resources: requests("50m", "64Mi"), configReloaderResources: requests("10m", "32Mi") },
    });
    const vmalertmanager = at({
      apiVersion: "operator.victoriametrics.com/v1beta1",
      kind: "VMAlertmanager",
      metadata: { name: "am", namespace: "demo" },
      spec: { replicaCount: 2, resources: requests("10m", "32Mi"), configReloaderResources: requests("10m", "32Mi") },
    });
    const p = plan(
      [keycloak, vmagent, vmsingle, vmalert, vmalertmanager],
      [node("a", { allocatable: { cpu: 4000, memory: 8 * GiB, pods: 110 } })],
    );
    expect(p.nodes[0]).toMatchObject({
      pods: 7,
      requests: { cpu: 770 + 2 * 20, memory: (768 * 2 + 256 + 32 + 512 + 64 + 32 + 2 * 64) * MiB },
    });
  });
});

describe("findings for validate", () => {
  test("no requests: one error per container at the workload's file:line", () => {
    const bare = workload("bare", { containers: [{ name: "main" }], file: "kubernetes/apps/demo/bare.yaml", line: 7 });
    const findings = capacityFindings(plan([bare], [node("a")]));
    expect(findings.map((f) => `${f.file}:${f.line} ${f.rule} ${f.message}`)).toEqual([
      "kubernetes/apps/demo/bare.yaml:7 capacity.no-requests Deployment demo/bare: container main has no cpu request; the capacity plan cannot count it (set resources.requests)",
      "kubernetes/apps/demo/bare.yaml:7 capacity.no-requests Deployment demo/bare: container main has no memory request; the capacity plan cannot count it (set resources.requests)",
    ]);
    expect(findings.every((f) => f.severity === "error")).toBe(true);
  });

  test("does not fit: one error per workload naming how many pods and why, at its source", () => {
    const big = workload("big", {
      replicas: 3,
      containers: [{ name: "main", resources: requests("100m", "3Gi") }],
      file: "kubernetes/apps/demo/big.yaml",
      line: 3,
    });
    const findings = capacityFindings(plan([big], [node("a"), node("b")]));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      file: "kubernetes/apps/demo/big.yaml",
      line: 3,
      rule: "capacity.does-not-fit",
      severity: "error",
      message:
        "Deployment demo/big: 1 of 3 pods fit on no node of ktsw.yaml: 0/2 nodes are available: 2 Insufficient memory.",
    });
  });
});

describe("the nodes of ktsw.yaml", () => {
  test("control planes carry the taint ktsw renders into k3s; allocatable is the VM's cores, memory and 110 pods", async () => {
    const nodes = capacityNodes(await exampleConfig());
    const cp = nodes.find((n) => n.name === "cp-1");
    const worker = nodes.find((n) => n.name === "worker-1");
    expect(cp?.taints).toEqual([{ key: "node-role.kubernetes.io/control-plane", value: "", effect: "NoSchedule" }]);
    expect(cp?.labels["node-role.kubernetes.io/control-plane"]).toBe("true");
    expect(cp?.allocatable).toEqual({ cpu: 4000, memory: 8 * GiB, pods: 110 });
    expect(worker?.taints).toEqual([]);
    expect(worker?.allocatable).toEqual({ cpu: 6000, memory: 16 * GiB, pods: 110 });
  });

  test("k3s' own CoreDNS is counted before the tree, as k3s' manifest sizes it; the add-ons ktsw disables are not", async () => {
    const site = capacitySite(await exampleConfig());
    expect(
      site.packaged.map((a) => `${a.owner} ${String(a.object.kind)} ${JSON.stringify(a.object.metadata)}`),
    ).toEqual(['k3s Deployment {"name":"coredns","namespace":"kube-system"}']);
    const p = planCapacity(site.packaged, site.nodes, { parents: new Map() });
    expect(p.workloads[0]?.resources.requests).toEqual({ cpu: 100, memory: 70 * MiB });
    expect(p.layers).toMatchObject([{ layer: "k3s", pods: 1 }]);
    expect(p.unplaced).toEqual([]);
  });

  test("layers: what a component applies belongs to the Kustomization below the cluster's root", () => {
    const parents = new Map([
      ["flux-system/flux-system", ""],
      ["flux-system/data", "flux-system/flux-system"],
      ["flux-system/nats", "flux-system/data"],
    ]);
    expect(layerOf("flux-system/nats", parents)).toBe("data");
    expect(layerOf("flux-system/data", parents)).toBe("data");
    expect(layerOf("flux-system/flux-system", parents)).toBe("flux-system");
    expect(layerOf("", parents)).toBe("cluster");
  });
});

describe("the plan's capacity section", () => {
  test("per node: pods, requests of allocatable, limits, headroom; per layer; the pods that fit nowhere", () => {
    const web = workload("web", {
      replicas: 3,
      containers: [
        {
          name: "main",
          resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
        },
      ],
      owner: "flux-system/web",
    });
    const agent = workload("agent", {
      kind: "DaemonSet",
      containers: [{ name: "main", resources: requests("100m", "64Mi") }],
      owner: "flux-system/agent",
    });
    const parents = new Map([
      ["flux-system/root", ""],
      ["flux-system/apps", "flux-system/root"],
      ["flux-system/networking", "flux-system/root"],
      ["flux-system/web", "flux-system/apps"],
      ["flux-system/agent", "flux-system/networking"],
    ]);
    const small = { allocatable: { cpu: 1000, memory: 2 * GiB, pods: 110 } };
    const text = capacitySection(planCapacity([web, agent], [node("a", small), node("b", small)], { parents }));
    // a: agent + 2 × web (least allocated alternates a, b, a) = 600m, 1088Mi; b: agent + web = 350m, 576Mi.
    expect(text).toContain(
      "| a | worker | 3 / 110 | 600m / 1 (60%) | 1.06Gi / 2Gi (53%) | 2+ | 2Gi+ | 400m CPU, 960Mi |",
    );
    expect(text).toContain(
      "| b | worker | 2 / 110 | 350m / 1 (35%) | 576Mi / 2Gi (28%) | 1+ | 1Gi+ | 650m CPU, 1.44Gi |",
    );
    expect(text).toContain(
      "| **total (2 nodes)** |  | **5 / 220** | **950m / 2 (48%)** | **1.63Gi / 4Gi (41%)** | **3+** | **3Gi+** | **1.05 CPU, 2.38Gi** |",
    );
    expect(text).toContain("| networking | 2 | 200m | 128Mi | 0+ | 0+ | 8% |");
    expect(text).toContain("| apps | 3 | 750m | 1.5Gi | 3 | 3Gi | 92% |");
    expect(text).toContain("Every pod has a node.");
    const tooMany = capacitySection(
      plan(
        [workload("big", { replicas: 2, containers: [{ name: "main", resources: requests("100m", "3Gi") }] })],
        [node("a")],
      ),
    );
    expect(tooMany).toContain(
      "**1 pod fit on no node:**\n\n- Deployment demo/big pod 2: 0/1 nodes are available: 1 Insufficient memory.",
    );
  });
});

describe("Linkerd's injected proxy", () => {
  const linkerdConfig = (native: boolean) =>
    at({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "linkerd-config", namespace: "linkerd" },
      data: {
        values: [
          "proxy:",
          `  nativeSidecar: ${native}`,
          "  resources:",
          "    cpu: {request: 10m, limit: ''}",
          "    memory: {request: 20Mi, limit: 250Mi}",
          "proxyInjector:",
          "  namespaceSelector:",
          "    matchExpressions:",
          "      - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}",
        ].join("\n"),
      },
    });
  const namespace = (name: string, inject?: string) =>
    at({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, ...(inject ? { annotations: { "linkerd.io/inject": inject } } : {}) },
    });
  const inNamespace = (ns: string, name: string, annotations?: Record<string, string>) => {
    const w = workload(name, annotations ? { pod: {} } : {});
    const o = w.object as {
      metadata: { namespace: string };
      spec: { template: { metadata: Record<string, unknown> } };
    };
    o.metadata.namespace = ns;
    if (annotations) o.spec.template.metadata.annotations = annotations;
    return w;
  };

  test("pods of an injected namespace get the proxy's requests; opted-out pods and excluded namespaces do not", () => {
    const objects = [
      linkerdConfig(true),
      namespace("apps", "enabled"),
      namespace("kube-system", "enabled"),
      inNamespace("apps", "meshed"),
      inNamespace("apps", "optout", { "linkerd.io/inject": "disabled" }),
      inNamespace("kube-system", "system"),
    ];
    const p = plan(objects, [node("a")]);
    const byName = Object.fromEntries(p.workloads.map((w) => [w.name, w]));
    // The native sidecar adds 10m/20Mi to the pod's 100m/128Mi; its memory limit is 250Mi, CPU unbounded.
    expect(byName.meshed?.meshed).toBe(true);
    expect(byName.meshed?.resources.requests).toEqual({ cpu: 110, memory: 148 * MiB });
    expect(byName.meshed?.resources.unlimited).toContain("cpu");
    expect(byName.optout?.meshed).toBe(false);
    expect(byName.optout?.resources.requests).toEqual({ cpu: 100, memory: 128 * MiB });
    expect(byName.system?.meshed).toBe(false);
  });

  test("without native sidecars the proxy is one more container; without a Linkerd config nothing is added", () => {
    const meshed = plan([linkerdConfig(false), namespace("apps", "enabled"), inNamespace("apps", "web")], [node("a")]);
    expect(meshed.workloads[0]?.resources.requests).toEqual({ cpu: 110, memory: 148 * MiB });
    const plain = plan([namespace("apps", "enabled"), inNamespace("apps", "web")], [node("a")]);
    expect(plain.workloads[0]?.meshed).toBe(false);
    expect(plain.workloads[0]?.resources.requests).toEqual({ cpu: 100, memory: 128 * MiB });
  });
});
