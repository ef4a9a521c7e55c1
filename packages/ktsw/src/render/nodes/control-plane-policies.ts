// The two files the hardened API server reads at start-up. Both are the same on every server, so
// they are rendered once into infrastructure/nodes/ (to read and review) and embedded into each
// control-plane's user-data (to land on the machine).
import { k3sPaths } from "./k3s-config.ts";
import { yamlFile } from "./yaml-file.ts";

/** What the API server writes to its audit log. Rules match top-down; the first match wins. */
export const auditPolicy = {
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  // Every request would otherwise be logged twice: once when received, once when answered.
  omitStages: ["RequestReceived"],
  rules: [
    // Probes and version checks arrive every few seconds and say nothing about who changed what.
    { level: "None", nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"] },
    // Leader-election leases are renewed every couple of seconds by every controller.
    { level: "None", verbs: ["get", "update"], resources: [{ group: "coordination.k8s.io", resources: ["leases"] }] },
    // Events are already a log; auditing them doubles the volume for nothing.
    {
      level: "None",
      resources: [
        { group: "", resources: ["events"] },
        { group: "events.k8s.io", resources: ["events"] },
      ],
    },
    // Secret material must never be copied into a log file: record who touched it, not what it was.
    {
      level: "Metadata",
      resources: [
        { group: "", resources: ["secrets", "configmaps", "serviceaccounts/token"] },
        { group: "authentication.k8s.io", resources: ["tokenreviews"] },
      ],
    },
    // Reads: who looked at what.
    { level: "Metadata", verbs: ["get", "list", "watch"] },
    // Every change: who, what, and the request body that made it.
    { level: "Request" },
  ],
} as const;

/** Admission plugin settings: Pod Security defaults and the EventRateLimit the API server flags enable. */
export const admissionConfig = {
  apiVersion: "apiserver.config.k8s.io/v1",
  kind: "AdmissionConfiguration",
  plugins: [
    {
      name: "PodSecurity",
      configuration: {
        apiVersion: "pod-security.admission.config.k8s.io/v1",
        kind: "PodSecurityConfiguration",
        // Pod security is enforced by Gatekeeper (kubernetes/platform/gatekeeper), not here: meshed
        // pods carry Linkerd's linkerd-init container with NET_ADMIN/NET_RAW (no linkerd-cni next to
        // Cilium), which Pod Security "baseline" would reject cluster-wide while Gatekeeper can exempt
        // exactly that image. So the built-in admission enforces nothing by default, records every
        // pod that falls short of "restricted" in the audit log, and a namespace can still opt into
        // enforcement with the label pod-security.kubernetes.io/enforce.
        defaults: {
          enforce: "privileged",
          "enforce-version": "latest",
          audit: "restricted",
          "audit-version": "latest",
          warn: "privileged",
          "warn-version": "latest",
        },
        // kube-system runs the CNI (Cilium) and CoreDNS, which must reach the host: no audit noise.
        exemptions: { usernames: [], runtimeClasses: [], namespaces: ["kube-system"] },
      },
    },
    {
      name: "EventRateLimit",
      configuration: {
        apiVersion: "eventratelimit.admission.k8s.io/v1alpha1",
        kind: "Configuration",
        // A crash-looping controller in one namespace cannot flood etcd with events for everyone.
        limits: [
          { type: "Server", qps: 500, burst: 1000 },
          { type: "Namespace", qps: 50, burst: 100, cacheSize: 2000 },
        ],
      },
    },
  ],
} as const;

/** The two policy files as they appear under infrastructure/nodes/ and on each server. */
export const controlPlanePolicyFiles = [
  { repoName: "audit-policy.yaml", nodePath: k3sPaths.auditPolicy, content: auditPolicy },
  { repoName: "admission-config.yaml", nodePath: k3sPaths.admissionConfig, content: admissionConfig },
] as const;

export type PolicyFile = (typeof controlPlanePolicyFiles)[number];

/** Byte-identical in the repository and on the node, so reviewing one is reviewing the other. */
export function policyFileContent(policy: PolicyFile): string {
  return yamlFile(policy.content, [
    `# Lands on every control-plane node as ${policy.nodePath} (embedded in its user-data).`,
  ]);
}
