import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { substituteManifests } from "@ktsw/cli/flux-substitute";
import AjvDraft04 from "ajv-draft-04";
import { describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";

// The Kubernetes manifests of the task processor: each custom resource against its CRD's offline
// schema, and the rules every workload here must keep (the tree-wide validator checks the rest).

// ajv-draft-04 is CommonJS: under NodeNext its class sits on `.default`, at run time it may not.
type AjvClass = typeof AjvDraft04.default;
const Ajv: AjvClass = (AjvDraft04 as unknown as { default?: AjvClass }).default ?? (AjvDraft04 as unknown as AjvClass);

const repo = join(import.meta.dirname, "../../../..");
const tree = join(repo, "kubernetes/apps/task-processor");
const crdSchemas = join(repo, "../shared/schemas/crds");
const settings: Record<string, string> = {
  SITE_DOMAIN: "lab.example.test",
  NODES_VLAN_CIDR: "10.20.0.0/24",
  KUBE_API_PORT: "6443",
};

interface Doc {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith(".yaml") ? [join(dir, e.name)] : [],
  );
}

/** Files of Kubernetes objects; data a kustomize generator reads (the scan gate's Trivy ignore file) is not one. */
const isManifest = (file: string) => /^(apiVersion|kind):/m.test(readFileSync(file, "utf8"));

// Flux substitutes ${VAR} from cluster-settings; do the same, with Flux's rules, from sample values
// (ports become ints). A variable these samples lack is a test error, as it would fail in Flux.
const docs: Doc[] = yamlFiles(tree)
  .filter(isManifest)
  .flatMap((file) => {
    const { objects, undefinedVars, problems } = substituteManifests(readFileSync(file, "utf8"), settings);
    const errors = [...undefinedVars.map((v) => `undefined variable \${${v}}`), ...problems];
    if (errors.length > 0) throw new Error(`${relative(repo, file)}: ${errors.join("; ")}`);
    return objects.map((d) => ({ ...(d as unknown as Doc), file: relative(repo, file) }));
  });
// biome-ignore lint/suspicious/noExplicitAny: parsed manifests, checked field by field in the tests
type Loose = Record<string, any>;
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: Loose;
}
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);

describe("task-processor manifests", () => {
  test("every file starts with a yaml-language-server schema line", () => {
    for (const f of yamlFiles(tree).filter(isManifest))
      expect(readFileSync(f, "utf8").split("\n")[0], f).toMatch(/^# yaml-language-server: \$schema=https:\/\//);
  });

  test("custom resources match their CRD schemas", (ctx) => {
    if (!existsSync(crdSchemas)) {
      console.warn(`!!! CRD schemas not found at ${crdSchemas}; skipping schema validation`);
      ctx.skip();
    }
    // CRD schemas carry OpenAPI formats (int32, int64...) Ajv does not know: formats are left unchecked
    // (the types still are), rather than Ajv warning once per field.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    let checked = 0;
    for (const d of docs) {
      const [group, version] = d.apiVersion.includes("/") ? d.apiVersion.split("/") : ["", d.apiVersion];
      const schemaFile = join(crdSchemas, group ?? "", `${d.kind.toLowerCase()}_${version}.json`);
      if (!group?.includes(".") || group.endsWith("k8s.io") || !existsSync(schemaFile)) continue;
      // ks.yaml holds only the Kustomizations' own fields; the layer that applies them adds the rest
      // (interval, prune, sourceRef...), and `ktsw validate` checks them in that form.
      if (group === "kustomize.toolkit.fluxcd.io") continue;
      const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, "utf8")));
      const { file: _file, ...resource } = d;
      const ok = validate(resource);
      expect(ok, `${d.file} ${d.kind}/${d.metadata.name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      checked++;
    }
    // Stream ×2, Consumer, Cluster, Database, ScaledObject, VMServiceScrape, VMRule, Certificate,
    // IngressRoute, KeycloakRealmImport, ScheduledBackup, the point-in-time recovery Cluster
    // (recovery/) and the build pipeline's trust Certificate (ci/). The barman-cloud ObjectStore has no
    // catalog schema (its chart's CRD checks it), nor have Tekton's kinds (Tekton's own code checks them:
    // packages/ktsw/test/validate/tekton.test.ts).
    expect(checked).toBe(14);
  });

  test("no plaintext Secret is committed; the database URL comes from CloudNativePG's secret", () => {
    // The one Secret in Git is SOPS-encrypted: every value is ciphertext.
    for (const secret of byKind("Secret")) {
      expect(secret.file, secret.metadata.name).toMatch(/\.sops\.yaml$/);
      const values = Object.values({ ...(secret.data as object), ...(secret.stringData as object) });
      expect(values.length, secret.metadata.name).toBeGreaterThan(0);
      for (const v of values) expect(String(v), secret.metadata.name).toMatch(/^ENC\[AES256_GCM,/);
    }
    for (const dep of byKind("Deployment").filter((d) => d.metadata.name !== "task-redis")) {
      expect(JSON.stringify(dep.spec), dep.metadata.name).toContain(
        '"secretKeyRef":{"name":"task-db-app","key":"uri"}',
      );
    }
  });

  test("every workload is locked down, sized, probed and labelled", () => {
    const deployments = byKind("Deployment");
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      "task-gateway",
      "task-redis",
      "task-status",
      "task-worker",
    ]);
    for (const d of deployments) {
      const pod = (d.spec as { template: PodTemplate }).template;
      const where = `${d.file} ${d.metadata.name}`;
      expect(pod.metadata.labels["app.kubernetes.io/name"], where).toBe(d.metadata.name);
      expect(pod.metadata.labels["app.kubernetes.io/part-of"], where).toBe("task-processor");
      expect(pod.spec.securityContext, where).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(pod.spec.securityContext.runAsUser, where).toBeGreaterThan(0);
      for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
        expect(c.securityContext, `${where}/${c.name}`).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(c.resources?.requests && c.resources?.limits, `${where}/${c.name} resources`).toBeTruthy();
        expect(c.image, `${where}/${c.name}`).toMatch(/^harbor\.lab\.example\.test\/[^:]+:[0-9][\w.-]*$/);
      }
      for (const c of pod.spec.containers) {
        expect(c.readinessProbe && c.livenessProbe, `${where}/${c.name} probes`).toBeTruthy();
      }
    }
  });

  test("default-deny, a PDB per replicated service, KEDA scaling on the worker's JetStream lag", () => {
    const deny = byKind("NetworkPolicy").find((n) => n.metadata.name === "default-deny");
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    expect(
      byKind("PodDisruptionBudget")
        .map((p) => p.metadata.name)
        .sort(),
    ).toEqual(["task-gateway", "task-status", "task-worker"]);
    const so = byKind("ScaledObject")[0] as Doc & {
      spec: { triggers: { type: string; metadata: Record<string, string> }[] };
    };
    expect(so.spec.triggers[0]?.type).toBe("nats-jetstream");
    expect(so.spec.triggers[0]?.metadata).toMatchObject({ stream: "JOBS", consumer: "task-worker" });
    const worker = byKind("Deployment").find((d) => d.metadata.name === "task-worker");
    expect(worker).toBeDefined();
    expect((worker?.spec as { replicas?: number } | undefined)?.replicas).toBeUndefined(); // KEDA owns it
    const ns = byKind("Namespace")[0];
    expect(ns?.metadata.annotations?.["linkerd.io/inject"]).toBe("enabled");
  });

  test("the consumer declared for NACK matches what the worker is configured with", () => {
    const consumer = byKind("Consumer")[0] as Doc & { spec: Record<string, unknown> };
    const config = byKind("ConfigMap").find((c) => c.metadata.name === "task-processor-config") as Doc & {
      data: Record<string, string>;
    };
    expect(consumer.spec.durableName).toBe(config.data.CONSUMER_NAME);
    expect(consumer.spec.streamName).toBe(config.data.JOBS_STREAM);
    // The worker counts a job's failed runs itself; a server-side cap would strand jobs during an outage.
    expect(consumer.spec.maxDeliver).toBe(-1);
    expect(consumer.spec.maxAckPending).toBe(Number(config.data.MAX_ACK_PENDING));
    expect(consumer.spec.ackWait).toBe(`${Number(config.data.ACK_WAIT_MS) / 1000}s`);
    expect(config.data.ENSURE_CONSUMER).toBe("false");
  });

  test("/metrics is on an internal port only: scraped there, never routed by the IngressRoute", () => {
    const config = byKind("ConfigMap").find((d) => d.metadata.name === "task-processor-config") as Loose;
    const metricsPort = Number(config.data.METRICS_PORT);
    expect(metricsPort).not.toBe(Number(config.data.PORT));
    const services = ["task-gateway", "task-status", "task-worker"];
    for (const name of services) {
      const dep = byKind("Deployment").find((d) => d.metadata.name === name) as Loose;
      const ports = dep.spec.template.spec.containers[0].ports as Loose[];
      expect(ports, name).toContainEqual({ name: "metrics", containerPort: metricsPort });
      const svc = byKind("Service").find((d) => d.metadata.name === name) as Loose;
      expect(svc.spec.ports, name).toContainEqual(expect.objectContaining({ name: "metrics", port: metricsPort }));
    }
    const [scrape] = byKind("VMServiceScrape") as Loose[];
    expect(scrape?.spec.endpoints.map((e: Loose) => e.port)).toEqual(["metrics"]);
    const routes = (byKind("IngressRoute") as Loose[]).flatMap((route) => route.spec.routes as Loose[]);
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) {
      for (const backend of r.services) expect(backend.port, r.match).toBe("http");
      if (!/Path\(`\/v1\/jobs`\)/.test(r.match)) expect(r.match).toContain("!PathPrefix(`/metrics`)");
    }
    const policy = (name: string) => byKind("NetworkPolicy").find((d) => d.metadata.name === name) as Loose;
    const ingressPorts = (name: string) =>
      policy(name).spec.ingress.flatMap((rule: Loose) => rule.ports.map((p: Loose) => p.port));
    expect(ingressPorts("allow-ingress-from-traefik")).not.toContain(metricsPort);
    expect(ingressPorts("allow-metrics-scrape")).toContain(metricsPort);
    expect(ingressPorts("allow-metrics-scrape")).not.toContain(Number(config.data.PORT));
  });

  test("production config leaves sleep jobs off and limits active jobs per caller", () => {
    const config = byKind("ConfigMap").find((d) => d.metadata.name === "task-processor-config") as Loose;
    expect(config.data.SLEEP_JOB_MAX_MS ?? "0").toBe("0");
    expect(Number(config.data.MAX_ACTIVE_JOBS_PER_SUBJECT)).toBeGreaterThan(0);
    const gateway = byKind("Deployment").find((d) => d.metadata.name === "task-gateway") as Loose;
    expect(JSON.stringify(gateway.spec)).toContain(
      '"secretKeyRef":{"name":"task-gateway-secrets","key":"JOB_ID_SECRET"}',
    );
  });

  test("the realm's dashboard client: public, code flow with PKCE S256 only, back to the status host only", () => {
    const realm = (byKind("KeycloakRealmImport")[0] as Loose).spec.realm;
    const client = (realm.clients as Loose[]).find((c) => c.clientId === "task-dashboard") as Loose;
    expect(client).toMatchObject({
      publicClient: true,
      standardFlowEnabled: true,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
      redirectUris: [`https://tasks.${settings.SITE_DOMAIN}/`],
      webOrigins: [`https://tasks.${settings.SITE_DOMAIN}`],
      attributes: { "pkce.code.challenge.method": "S256" },
    });
    const config = byKind("ConfigMap").find((d) => d.metadata.name === "task-processor-config") as Loose;
    expect(config.data.DASHBOARD_OIDC_CLIENT_ID).toBe(client.clientId);
  });

  test("the IngressRoute sends submissions and the dashboard's Replay to the gateway", () => {
    const routes = (byKind("IngressRoute") as Loose[]).flatMap((route) => route.spec.routes as Loose[]);
    const toGateway = routes.filter((r) => (r.services as Loose[]).some((s) => s.name === "task-gateway"));
    expect(toGateway).toHaveLength(1);
    const match = toGateway[0]?.match as string;
    expect(match).toContain("Method(`POST`)");
    expect(match).toContain("Path(`/v1/jobs`)");
    const replay = /PathRegexp\(`([^`]+)`\)/.exec(match)?.[1] as string;
    expect(new RegExp(replay).test("/v1/jobs/3f1d7a8e-0000-4000-8000-000000000000/replay")).toBe(true);
    expect(new RegExp(replay).test("/v1/jobs/3f1d7a8e-0000-4000-8000-000000000000")).toBe(false);
  });

  test("every dashboard in app/dashboards/ goes into the ConfigMap Grafana's sidecar loads, Flux substitution off", () => {
    const k = parseAllDocuments(readFileSync(join(tree, "app", "kustomization.yaml"), "utf8"))[0]?.toJS() as {
      configMapGenerator: {
        files: string[];
        options: { labels: Record<string, string>; annotations: Record<string, string> };
      }[];
    };
    const [dashboards] = k.configMapGenerator;
    const files = readdirSync(join(tree, "app", "dashboards")).map((f) => `dashboards/${f}`);
    expect([...(dashboards?.files ?? [])].sort()).toEqual(files.sort());
    expect(dashboards?.options.labels.grafana_dashboard).toBe("1");
    // Grafana's ${datasource} would otherwise be Flux's undefined variable.
    expect(dashboards?.options.annotations["kustomize.toolkit.fluxcd.io/substitute"]).toBe("disabled");
    const uids = files.map((f) => (JSON.parse(readFileSync(join(tree, "app", f), "utf8")) as { uid: string }).uid);
    expect(uids.sort()).toEqual(["ktsw-task-gateway", "ktsw-task-overview", "ktsw-task-status", "ktsw-task-worker"]);
  });

  test("each kustomization lists exactly the files beside it", () => {
    for (const dir of ["app", "realm"]) {
      const k = parseAllDocuments(readFileSync(join(tree, dir, "kustomization.yaml"), "utf8"))[0]?.toJS() as {
        resources: string[];
      };
      const files = readdirSync(join(tree, dir)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
      expect([...k.resources].sort()).toEqual(files.sort());
    }
  });
});
