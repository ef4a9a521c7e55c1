// helm-controller's reading of a HelmRelease, pinned against its upstream rules: release name and
// namespace, the values merge order of valuesFrom and values, targetPath, the CRD policy.
import { describe, expect, test } from "vitest";
import {
  chartRef,
  composeValues,
  includesCrds,
  mergeMaps,
  releaseName,
  releaseNamespace,
  setPath,
  shortenName,
} from "../../../src/validate/helm/release.ts";

const hr = (spec: Record<string, unknown>, name = "app", namespace = "apps") => ({
  apiVersion: "helm.toolkit.fluxcd.io/v2",
  kind: "HelmRelease",
  metadata: { name, namespace },
  spec,
});

describe("release name and namespace", () => {
  test("spec.releaseName wins; else [targetNamespace-]name", () => {
    expect(releaseName(hr({ releaseName: "custom", targetNamespace: "t" }))).toBe("custom");
    expect(releaseName(hr({ targetNamespace: "team" }))).toBe("team-app");
    expect(releaseName(hr({}))).toBe("app");
  });

  test("a name over 53 characters keeps 40 and appends 12 hex of its SHA-256, like helm-controller", () => {
    const long = "a".repeat(60);
    const short = shortenName(long);
    expect(short).toHaveLength(53);
    expect(short).toMatch(/^a{40}-[0-9a-f]{12}$/);
    expect(shortenName("a".repeat(53))).toBe("a".repeat(53));
    expect(releaseName(hr({ targetNamespace: "n".repeat(30) }, "m".repeat(30)))).toHaveLength(53);
  });

  test("the namespace is spec.targetNamespace, else the HelmRelease's own", () => {
    expect(releaseNamespace(hr({ targetNamespace: "elsewhere" }))).toBe("elsewhere");
    expect(releaseNamespace(hr({}))).toBe("apps");
  });

  test("CRDs are installed unless spec.install.crds is Skip", () => {
    expect(includesCrds(hr({}))).toBe(true);
    expect(includesCrds(hr({ install: { crds: "CreateReplace" } }))).toBe(true);
    expect(includesCrds(hr({ install: { crds: "Skip" } }))).toBe(false);
  });

  test("chart reference: a HelmRepository chart with its version; other sources are named", () => {
    expect(
      chartRef(
        hr({ chart: { spec: { chart: "c", version: "1.0.0", sourceRef: { kind: "HelmRepository", name: "r" } } } }),
      ),
    ).toEqual({ kind: "chart", chart: "c", version: "1.0.0", source: "HelmRepository apps/r" });
    expect(
      chartRef(
        hr({ chart: { spec: { chart: "c", version: "1.0.0", sourceRef: { kind: "GitRepository", name: "g" } } } }),
      ),
    ).toEqual({ kind: "unsupported", why: "chart c from a GitRepository source" });
    expect(chartRef(hr({ chartRef: { kind: "OCIRepository", name: "o" } }))).toEqual({
      kind: "unsupported",
      why: "spec.chartRef to OCIRepository apps/o, which the tree does not define",
    });
  });

  test("chartRef: an OCIRepository's chart is its URL's last segment at ref.semver, else ref.tag; a HelmChart's is its chart and version", () => {
    const sources: Record<string, Record<string, unknown>> = {
      "OCIRepository/apps/podinfo": { spec: { url: "oci://ghcr.io/org/charts/podinfo", ref: { tag: "6.9.0" } } },
      "OCIRepository/flux-system/both": {
        spec: { url: "oci://ghcr.io/org/charts/both/", ref: { tag: "1.0.0", semver: "1.0.1" } },
      },
      "OCIRepository/apps/digest": { spec: { url: "oci://ghcr.io/org/charts/d", ref: { digest: "sha256:00" } } },
      "HelmChart/apps/hc": {
        metadata: { namespace: "apps" },
        spec: { chart: "redis", version: "1.2.3", sourceRef: { kind: "HelmRepository", name: "bitnami" } },
      },
    };
    const lookup = (kind: string, ns: string, name: string) => sources[`${kind}/${ns}/${name}`];
    expect(chartRef(hr({ chartRef: { kind: "OCIRepository", name: "podinfo" } }), lookup)).toEqual({
      kind: "chart",
      chart: "podinfo",
      version: "6.9.0",
      source: "OCIRepository apps/podinfo",
      via: "OCIRepository apps/podinfo",
    });
    expect(
      chartRef(hr({ chartRef: { kind: "OCIRepository", name: "both", namespace: "flux-system" } }), lookup),
    ).toMatchObject({ chart: "both", version: "1.0.1" });
    expect(chartRef(hr({ chartRef: { kind: "OCIRepository", name: "digest" } }), lookup)).toEqual({
      kind: "unsupported",
      why: "OCIRepository apps/digest pins no ref.tag nor ref.semver (the chart cache is indexed by version)",
    });
    expect(chartRef(hr({ chartRef: { kind: "HelmChart", name: "hc" } }), lookup)).toEqual({
      kind: "chart",
      chart: "redis",
      version: "1.2.3",
      source: "HelmRepository apps/bitnami",
      via: "HelmChart apps/hc",
    });
  });
});

describe("values", () => {
  test("maps merge key by key; a scalar or list replaces", () => {
    expect(mergeMaps({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2] }, d: { e: 1 } })).toEqual({
      a: { b: 1, c: [2] },
      d: { e: 1 },
    });
  });

  test("valuesFrom in order, then spec.values over them", () => {
    const values = composeValues([{ text: "a: 1\nb: {x: 1, y: 1}\n" }, { text: "a: 2\nb: {y: 2}\n" }], {
      b: { y: 3 },
      c: true,
    });
    expect(values).toEqual({ a: 2, b: { x: 1, y: 3 }, c: true });
  });

  test("a targetPath value is set at its path, typed like Helm's --set, and wins over spec.values", () => {
    const values = composeValues(
      [
        { text: "PEM-TEXT", targetPath: "identity.anchor" },
        { text: "3", targetPath: "replicas" },
        { text: '"3"', targetPath: "quoted" },
      ],
      { identity: { anchor: "from-values", other: 1 }, replicas: 1 },
    );
    expect(values).toEqual({ identity: { anchor: "PEM-TEXT", other: 1 }, replicas: 3, quoted: "3" });
  });

  test("setPath creates maps and lists, and an escaped dot stays in the key", () => {
    const v: Record<string, unknown> = {};
    setPath(v, "a.list[1].b", "x");
    setPath(v, "annotations.example\\.com/k", "y");
    expect(v).toEqual({ a: { list: [undefined, { b: "x" }] }, annotations: { "example.com/k": "y" } });
  });
});
