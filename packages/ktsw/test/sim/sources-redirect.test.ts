// The sim's view of the tree: every internet source pointed at the local servers, each change listed, every other
// byte of the files untouched.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { describeRedirections, type LocalSources, redirectSources } from "../../src/sim/sources/redirect.ts";
import { spliceYaml } from "../../src/sim/sources/yaml-splice.ts";
import { repo } from "../support/cli.ts";

const local: LocalSources = {
  helmUrl: "http://127.0.0.1:4000/charts/",
  treeGitUrl: "http://127.0.0.1:4000/git/tree.git",
  upstreamCopies: [
    { repo: "github.com/keycloak/keycloak-k8s-resources", tag: "26.0.0", path: "kubernetes", dir: "/copies/kc" },
  ],
  upstreamGitUrl: (r) => `http://127.0.0.1:4000/git/${r}.git`,
};

const helmRepo = `# Charts from upstream.
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: jetstack
  namespace: cert-manager
spec:
  interval: 12h # daily is plenty
  url: https://charts.jetstack.io
`;

const treeRepo = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: "https://github.com/example/homelab.git"
  secretRef:
    name: flux-system
  ref:
    branch: trunk
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  path: ./kubernetes/clusters/homelab
  sourceRef: {kind: GitRepository, name: flux-system}
`;

const upstreamRepo = (tag: string) => `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: keycloak-k8s-resources
  namespace: flux-system
spec:
  url: https://github.com/keycloak/keycloak-k8s-resources
  ref:
    tag: "${tag}"
`;

describe("redirecting the tree's sources to the sim's servers", () => {
  test("a HelmRepository points at the local Helm repository; comments and every other line stay as written", () => {
    const out = redirectSources(new Map([["k/helmrepository.yaml", helmRepo]]), local);
    expect(out.files.get("k/helmrepository.yaml")).toBe(
      helmRepo.replace("https://charts.jetstack.io", "http://127.0.0.1:4000/charts/"),
    );
    expect(out.redirections).toEqual([
      {
        file: "k/helmrepository.yaml",
        kind: "HelmRepository",
        namespace: "cert-manager",
        name: "jetstack",
        from: "https://charts.jetstack.io",
        to: "http://127.0.0.1:4000/charts/",
        dropped: [],
      },
    ]);
  });

  test("the tree's own GitRepository points at the snapshot, drops the real host's credentials and names its branch", () => {
    const out = redirectSources(new Map([["k/flux-system.yaml", treeRepo]]), local);
    const [git, ks] = parseAllDocuments(out.files.get("k/flux-system.yaml") ?? "").map((d) => d.toJS());
    expect(git.spec).toEqual({ interval: "1m", url: local.treeGitUrl, ref: { branch: "trunk" } });
    expect(ks).toEqual(parse(treeRepo.split("---\n")[1] ?? ""));
    expect(out.files.get("k/flux-system.yaml")).toContain(`url: "${local.treeGitUrl}"`); // quoting kept
    expect(out.treeBranch).toBe("trunk");
    expect(out.redirections).toMatchObject([
      { kind: "GitRepository", name: "flux-system", dropped: ["spec.secretRef"] },
    ]);
  });

  test("a tree GitRepository pinned to a tag, not a branch, stays as written: the snapshot is a branch", () => {
    const pinned = treeRepo.replace("branch: trunk", 'tag: "v1.0.0"');
    const out = redirectSources(new Map([["k/flux-system.yaml", pinned]]), local);
    expect(out.files.get("k/flux-system.yaml")).toBe(pinned);
    expect(out.notRedirected).toMatchObject([
      { name: "flux-system", reason: "follows ref.tag, but the sim commits the working tree to a branch" },
    ]);
  });

  test("an upstream GitRepository whose tag the offline copies hold points at its local copy", () => {
    const out = redirectSources(new Map([["k/ks.yaml", upstreamRepo("26.0.0")]]), local);
    expect(parse(out.files.get("k/ks.yaml") ?? "").spec.url).toBe(
      "http://127.0.0.1:4000/git/github.com/keycloak/keycloak-k8s-resources.git",
    );
    expect(out.upstreamUsed).toEqual(local.upstreamCopies);
    expect(out.notRedirected).toEqual([]);
  });

  test("an upstream tag the copies lack, an OCIRepository and a Bucket stay as written and are listed with why", () => {
    const oci = `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: podinfo, namespace: apps}\nspec:\n  url: oci://ghcr.io/stefanprodan/manifests/podinfo\n`;
    const bucket = `apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: b}\nspec:\n  url: s3.amazonaws.com\n`;
    const files = new Map([
      ["k/ks.yaml", upstreamRepo("99.0.0")],
      ["k/oci.yaml", oci],
      ["k/bucket.yaml", bucket],
    ]);
    const out = redirectSources(files, local);
    expect(out.files).toEqual(files);
    expect(out.redirections).toEqual([]);
    expect(out.notRedirected.map((n) => [n.kind, n.name, n.reason])).toEqual([
      ["GitRepository", "keycloak-k8s-resources", "tag 99.0.0 is not in the offline copies (tags there: 26.0.0)"],
      ["OCIRepository", "podinfo", "an OCI artifact: the sim serves no OCI registry"],
      ["Bucket", "b", "an S3 bucket: the sim serves no object storage"],
    ]);
    expect(describeRedirections(out)[0]).toBe(
      "NOT redirected GitRepository flux-system/keycloak-k8s-resources (k/ks.yaml): https://github.com/keycloak/keycloak-k8s-resources: tag 99.0.0 is not in the offline copies (tags there: 26.0.0)",
    );
  });

  test("an OCI HelmRepository becomes an ordinary one on the local repository, the removed type listed", () => {
    const text = `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  type: oci\n  url: oci://ghcr.io/stefanprodan/charts\n  interval: 1h\n`;
    const out = redirectSources(new Map([["k/oci.yaml", text]]), local);
    expect(parse(out.files.get("k/oci.yaml") ?? "").spec).toEqual({ url: local.helmUrl, interval: "1h" });
    expect(describeRedirections(out)).toEqual([
      "redirected HelmRepository apps/podinfo (k/oci.yaml): oci://ghcr.io/stefanprodan/charts → http://127.0.0.1:4000/charts/; removed spec.type",
    ]);
  });

  test("non-YAML files, other kinds and sources already on loopback pass through untouched", () => {
    const files = new Map([
      ["k/README.md", "url: https://example.com\n"],
      ["k/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  url: https://example.com\n"],
      ["k/local.yaml", helmRepo.replace("https://charts.jetstack.io", "http://localhost:8080/")],
    ]);
    const out = redirectSources(files, local);
    expect(out.files).toEqual(files);
    expect(out.redirections).toEqual([]);
  });

  test("the repository's own tree: every source redirected and named, and nothing else in any file changed", () => {
    const root = join(repo, "kubernetes");
    const files = new Map(
      readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => {
          const abs = join(e.parentPath, e.name);
          return [relative(repo, abs), readFileSync(abs, "utf8")] as const;
        }),
    );
    const out = redirectSources(files, local);
    const kinds = out.redirections.map((r) => r.kind);
    expect(kinds.filter((k) => k === "HelmRepository").length).toBeGreaterThan(5);
    expect(out.redirections).toContainEqual(
      expect.objectContaining({ kind: "GitRepository", name: "flux-system", to: local.treeGitUrl }),
    );
    expect(out.redirections).toContainEqual(
      expect.objectContaining({ kind: "GitRepository", name: "keycloak-k8s-resources", from: expect.any(String) }),
    );
    expect(out.notRedirected).toEqual([]);
    const redirectedFiles = new Set(out.redirections.map((r) => r.file));
    for (const [file, text] of files) {
      const now = out.files.get(file) ?? "";
      if (!redirectedFiles.has(file)) expect(now, file).toBe(text);
      else expect(now.split("\n").length, file).toBe(text.split("\n").length); // only URLs changed
    }
  });
});

describe("editing YAML in place", () => {
  test("a removed field takes its comment-free lines with it and leaves its neighbours", () => {
    const text = "spec:\n  a: 1 # one\n  secretRef:\n    name: x\n  b: 2\n";
    expect(spliceYaml(text, [{ doc: 0, path: ["spec", "secretRef"] }])).toBe("spec:\n  a: 1 # one\n  b: 2\n");
  });

  test("a field that is not there, or not a scalar, is an error rather than a silent no-op", () => {
    expect(() => spliceYaml("spec: {}\n", [{ doc: 0, path: ["spec", "url"], value: "x" }])).toThrow(/spec.url/);
    expect(() => spliceYaml("spec:\n  url: [a]\n", [{ doc: 0, path: ["spec", "url"], value: "x" }])).toThrow(
      /not a scalar/,
    );
  });
});
