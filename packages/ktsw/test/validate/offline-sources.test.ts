// Git sources that point at the internet resolve offline from a folder of upstream copies
// (SOURCES.tsv: repository, tag, upstream path): same repository and tag, or an error naming the
// tags there. The copy's objects are built with the Kustomization's Flux fields and checked.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { get } from "../../src/validate/flux.ts";
import { buildAppliedTree, defaultSchemaSources, validateTree } from "../../src/validate/index.ts";
import { normalizeRepo, offlineSourcesFrom, resolveOffline } from "../../src/validate/offline-sources.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const root = join(import.meta.dirname, "fixtures/offline-source");
const manifestsDir = join(root, "manifests");
const k8sVersion = "v1.33.5+k3s1";
const file = "kubernetes/clusters/test/upstream.yaml";

const git = (url: string, tag?: string) => ({ spec: { url, ...(tag ? { ref: { tag } } : {}) } });

describe("offline copies of upstream Git sources", () => {
  const sources = offlineSourcesFrom(readFileSync(join(manifestsDir, "SOURCES.tsv"), "utf8"), manifestsDir);

  test("SOURCES.tsv lists each copy by repository, tag and the upstream path it holds", () => {
    expect(sources).toEqual([
      { repo: "github.com/example/upstream", tag: "v1.0.0", path: "deploy", dir: join(manifestsDir, "upstream-1.0.0") },
    ]);
    expect(normalizeRepo("ssh://git@GitHub.com/example/upstream.git/")).toBe("github.com/example/upstream");
  });

  test("same repository and tag: the copy's folder for the Kustomization's path", () => {
    expect(resolveOffline(git("https://github.com/example/upstream", "v1.0.0"), "./deploy", sources)).toEqual({
      found: true,
      dir: join(manifestsDir, "upstream-1.0.0"),
      label: "upstream v1.0.0",
    });
  });

  test("another tag, another repository, a path the copy does not hold: an error saying what is wanted and there", () => {
    expect(resolveOffline(git("https://github.com/example/upstream", "v2.0.0"), "deploy", sources)).toEqual({
      found: false,
      error: "https://github.com/example/upstream at tag v2.0.0 is not in the offline copies (tags there: v1.0.0)",
    });
    expect(resolveOffline(git("https://github.com/example/other", "v1.0.0"), "deploy", sources)).toMatchObject({
      error: "https://github.com/example/other at tag v1.0.0 is not in the offline copies (no copy of that repository)",
    });
    expect(resolveOffline(git("https://github.com/example/upstream", "v1.0.0"), "docs", sources)).toMatchObject({
      error: "the offline copy of https://github.com/example/upstream v1.0.0 holds deploy/ only, not docs",
    });
  });
});

describe("a Kustomization reading an upstream GitRepository, built from its offline copy", () => {
  const opts = (dir: string | undefined) => ({
    root,
    treeDir: "kubernetes",
    clusterPath: "./kubernetes/clusters/test",
    k8sVersion,
    schemas: { ...defaultSchemaSources(repo, undefined, undefined, k8sVersion), cacheDir: join(root, ".cache") },
    ...(dir ? { manifestsDir: dir } : {}),
  });

  test("its objects are built with the Kustomization's Flux fields and carry where they come from", async () => {
    const { applied } = await buildAppliedTree(opts(manifestsDir));
    const deployment = applied.find((a) => a.object.kind === "Deployment");
    expect(get(deployment?.object, "metadata", "namespace")).toBe("demo");
    expect(get(deployment?.object, "metadata", "labels")).toEqual({ patched: "true" });
    expect(deployment?.upstream).toBe("upstream v1.0.0");
    expect(deployment?.source?.file).toBe(file);
  });

  test("they go through the same checks: a finding names the copy and the object, at the Kustomization's sourceRef", async () => {
    const report = await validateTree({ ...opts(manifestsDir), policies: false });
    const line = readFileSync(join(root, file), "utf8").split("\n").indexOf("  sourceRef:") + 1;
    const pins = report.findings.filter((f) => f.rule === "pins");
    expect(pins.map((f) => [`${f.file}:${f.line}`, f.message])).toEqual([
      [
        `${file}:${line}`,
        'upstream upstream v1.0.0, Deployment demo/upstream-app: image "docker.io/library/nginx:latest" uses the moving tag "latest"',
      ],
    ]);
    expect(report.kustomizations.find((k) => k.name === "upstream-manifests")).toMatchObject({
      external: "GitRepository/flux-system/upstream",
      offline: "upstream v1.0.0",
      objects: 1,
    });
  });

  test("a tag the copies do not hold is an error at the sourceRef naming the tag wanted and the tags there", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "ktsw-offline-"));
    try {
      cpSync(join(root, "kubernetes"), join(scratch, "kubernetes"), { recursive: true });
      const text = readFileSync(join(scratch, file), "utf8");
      writeFileSync(join(scratch, file), text.replace("tag: v1.0.0", "tag: v2.0.0"));
      const report = await validateTree({ ...opts(manifestsDir), root: scratch, policies: false });
      const hits = report.findings.filter((f) => f.rule === "flux.offline-source");
      expect(hits.map((f) => [f.file, f.severity, f.message])).toEqual([
        [
          file,
          "error",
          "GitRepository/flux-system/upstream: https://github.com/example/upstream.git at tag v2.0.0 is not in the offline copies (tags there: v1.0.0)",
        ],
      ]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test("without offline copies the Kustomization is listed, not built, and nothing is reported about it", async () => {
    const report = await validateTree({ ...opts(undefined), policies: false });
    expect(report.findings.filter((f) => f.rule === "flux.offline-source" || f.rule === "pins")).toEqual([]);
    expect(report.kustomizations.find((k) => k.name === "upstream-manifests")).toMatchObject({ objects: 0 });
  });
});
