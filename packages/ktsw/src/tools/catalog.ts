// Every program KTSW runs, and where it comes from: a Debian package in deps/apt.txt, a Go module in
// deps/go-tools.txt, a build of deps/sim-tools.txt (the simulated cluster's programs), a package of deps/python.txt in
// the repository's Python environment, or (optional) none. The deps lists stay the one place that names versions;
// this says which binaries each line provides and where a package puts them off PATH. A test keeps
// the two in step, so a new line in deps/ without its binaries here fails.

/** `$(go env GOPATH)/bin`, where `go install` (and scripts/install-deps.sh) puts binaries. */
export const goBinFolder = "$(go env GOPATH)/bin";

/** Where scripts/install-deps.sh makes the Python environment of deps/python.txt, relative to the repository
 *  (git-ignored): the barman-cloud programs, pinned, apart from whatever Python the machine has. */
export const pythonBinFolder = ".cache/ktsw/python/bin";

/** Searched after PATH for every tool: a user's PATH often lacks sbin, where Debian puts daemons. */
export const systemFolders = ["/usr/sbin", "/sbin"] as const;

export type ToolSource =
  /** A Debian package listed in deps/apt.txt. */
  | { apt: string }
  /** A `binary module@version` line of deps/go-tools.txt (the binary is the tool's name). */
  | { go: true }
  /** A `package==version` line of deps/python.txt, installed into the repository's Python environment
   *  (pythonBinFolder) and found only there: another release on PATH is not the one the proofs pinned. */
  | { python: string }
  /** In no list: an alternative or an extra; `install` says how to get it. */
  | { optional: string };

export interface ToolSpec {
  bin: string;
  from: ToolSource;
  /** Folders searched after PATH and the system folders, in order. */
  folders?: readonly string[];
}

const frrDaemons = "/usr/lib/frr"; // Debian's frr keeps its daemons off PATH; systemd starts them from here.
const postgres15 = "/usr/lib/postgresql/15/bin"; // Debian 12's server binaries (the `postgresql` package is 15).

export const tools = [
  { bin: "git", from: { apt: "git" } },
  { bin: "cloud-init", from: { apt: "cloud-init" } },
  { bin: "initdb", from: { apt: "postgresql" }, folders: [postgres15] },
  { bin: "postgres", from: { apt: "postgresql" }, folders: [postgres15] },
  { bin: "pg_isready", from: { apt: "postgresql" }, folders: [postgres15] },
  { bin: "redis-server", from: { apt: "redis-server" } },
  // Debian's 2.9 has JetStream; a `go install`ed nats-server works as well.
  { bin: "nats-server", from: { apt: "nats-server" }, folders: [goBinFolder] },
  { bin: "chromium", from: { apt: "chromium" } },
  { bin: "zebra", from: { apt: "frr" }, folders: [frrDaemons] },
  { bin: "bgpd", from: { apt: "frr" }, folders: [frrDaemons] },
  { bin: "bfdd", from: { apt: "frr" }, folders: [frrDaemons] },
  { bin: "vtysh", from: { apt: "frr" } },
  { bin: "nft", from: { apt: "nftables" } },
  { bin: "ip", from: { apt: "iproute2" } },
  { bin: "arping", from: { apt: "iputils-arping" } },
  { bin: "age-keygen", from: { apt: "age" } },
  { bin: "shellcheck", from: { apt: "shellcheck" } },
  { bin: "setpriv", from: { apt: "util-linux" } },
  { bin: "openssl", from: { apt: "openssl" } },
  // The identity proof: Keycloak's distribution (deps/maven.txt) is fetched with Maven, unpacked with unzip, run on Java.
  { bin: "java", from: { apt: "openjdk-17-jre-headless" } },
  { bin: "mvn", from: { apt: "maven" } },
  { bin: "unzip", from: { apt: "unzip" } },
  // Debian's, not whatever python3 is first on PATH: install-deps.sh makes the pinned environment with it.
  { bin: "python3", from: { apt: "python3-venv" }, folders: ["/usr/bin"] },
  { bin: "opa", from: { go: true }, folders: [goBinFolder] },
  { bin: "gator", from: { go: true }, folders: [goBinFolder] },
  { bin: "sops", from: { go: true }, folders: [goBinFolder] },
  { bin: "kustomize", from: { go: true }, folders: [goBinFolder] },
  { bin: "helm", from: { go: true }, folders: [goBinFolder] },
  // The data drill's local S3 server, a stand-in for the tree's SeaweedFS (see deps/go-tools.txt).
  { bin: "gofakes3", from: { go: true }, folders: [goBinFolder] },
  // The barman-cloud programs CloudNativePG's barman-cloud plugin runs; the data drill runs them against PostgreSQL.
  ...(
    [
      "barman-cloud-wal-archive",
      "barman-cloud-wal-restore",
      "barman-cloud-backup",
      "barman-cloud-backup-list",
      "barman-cloud-restore",
      "barman-cloud-check-wal-archive",
    ] as const
  ).map((bin) => ({ bin, from: { python: "barman" }, folders: [pythonBinFolder] }) as const),
  // The observability proof: VictoriaMetrics single-node scrapes the app's /metrics and answers every dashboard and
  // alert query; vmalert (same module, same release) evaluates the app's VMRule groups against it.
  { bin: "victoria-metrics", from: { go: true }, folders: [goBinFolder] },
  { bin: "vmalert", from: { go: true }, folders: [goBinFolder] },
  // The alert-delivery proof: the Alertmanager release the tree's VMAlertmanager runs, and its amtool, which checks
  // the tree's routing config; vmalert above notifies it.
  { bin: "alertmanager", from: { go: true }, folders: [goBinFolder] },
  { bin: "amtool", from: { go: true }, folders: [goBinFolder] },
  // The signing proof (apps/task-processor/devstack/test/sign-verify.test.ts): a local OCI registry, crane to build
  // and push images without a container engine, cosign to sign and verify, and Ratify's CLI, the verifier the
  // cluster's admission check (kubernetes/platform/ratify) runs.
  { bin: "registry", from: { go: true }, folders: [goBinFolder] },
  { bin: "crane", from: { go: true }, folders: [goBinFolder] },
  { bin: "cosign", from: { go: true }, folders: [goBinFolder] },
  { bin: "ratify", from: { go: true }, folders: [goBinFolder] },
  // The build pipeline's scan gate, run for real on what Trivy judges offline (its embedded misconfiguration checks).
  // It needs Go's json/v2 experiment, which `go install` of a go-tools line cannot set, and its cold build is long,
  // so it is in no list CI installs: the gate's test skips loudly without it.
  {
    bin: "trivy",
    from: {
      optional:
        'Trivy v0.74.0: `GOEXPERIMENT=jsonv2 go install -ldflags "-X github.com/aquasecurity/trivy/pkg/version/app.ver=0.74.0" github.com/aquasecurity/trivy/cmd/trivy@v0.74.0` (the flag stamps the version, as its release build does; about 46 minutes cold on two busy cores)',
    },
    folders: [goBinFolder],
  },
  // Only bench:validate runs it, to time ktsw validate against the reference tool on the same tree.
  { bin: "flate", from: { go: true }, folders: [goBinFolder] },
  {
    bin: "kubectl",
    from: {
      optional: "kubectl from Kubernetes' own packages; only used (as `kubectl kustomize`) when kustomize is missing",
    },
  },
  {
    bin: "tofu",
    from: {
      optional: "OpenTofu built from source (it cannot be `go install`ed); see infrastructure/proxmox/README.md",
    },
  },
] as const satisfies readonly ToolSpec[];

export type ToolName = (typeof tools)[number]["bin"];

export function toolSpec(bin: ToolName): ToolSpec {
  const spec: ToolSpec | undefined = tools.find((t) => t.bin === bin);
  if (!spec) throw new Error(`${bin} is not in the tool catalog`);
  return spec;
}

/**
 * The simulated cluster's programs (`ktsw sim`), one per line of deps/sim-tools.txt. They are found only as their
 * pinned build `<name>-<version>` in the sim's cache folder, never on PATH: a PATH etcd is Debian's 3.4, and a
 * control plane of mixed releases is not the one the tree was checked against.
 */
export const simClusterTools = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
  "kwok",
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "gatekeeper",
  "metallb-controller",
] as const;

/** Programs only a drill runs (`ktsw sim drill backup`), so `ktsw sim up` neither needs nor builds them. */
export const simDrillTools = ["velero", "velero-plugin-for-aws"] as const;

export const simTools = [...simClusterTools, ...simDrillTools] as const;

/**
 * Programs built like the sim's, by scripts/build-sim-tools.sh from a wrapper module in deps/sim into the same cache
 * as `<name>-<version>`, but not part of the simulated cluster (`ktsw sim up` does not need them): checks that run an
 * upstream project's own Go code. tekton-validate decodes and validates Tekton objects with Tekton's types; otelcol
 * is a minimal OpenTelemetry Collector (the otlp receiver, the otlphttp exporter), the observability proof's OTLP
 * receiver, built here because the collector ships no command `go install` can build.
 */
export const checkTools = ["tekton-validate", "otelcol"] as const;

export type SimToolName = (typeof simTools)[number] | (typeof checkTools)[number];
export type SimClusterToolName = (typeof simClusterTools)[number];

/** Where scripts/install-deps.sh unpacks a server distribution of deps/maven.txt (`name` at `version`), relative to the
 *  repository (git-ignored); it writes `.ktsw-installed` there last, so a half-unpacked folder is not installed. */
export const mavenFolder = (name: string, version: string) => `.cache/ktsw/${name}-${version}`;

/** Where scripts/build-sim-tools.sh puts the sim's programs, relative to the repository (it is git-ignored). */
export const simBinFolder = ".cache/ktsw/sim/bin";
