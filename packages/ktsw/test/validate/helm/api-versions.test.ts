// Which API versions a chart sees: every served version of the tree's CRDs in both discovery forms,
// and whether a packaged chart's output can depend on them at all.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import {
  chartReadsApiVersions,
  crdApiVersions,
  keptChartReadsApiVersions,
} from "../../../src/validate/helm/api-versions.ts";

/** A gzipped tar with one entry per [name, content] (headers carry only the name: enough to search). */
function tgz(entries: [string, string][]): Buffer {
  const blocks = entries.flatMap(([name, content]) => {
    const header = Buffer.alloc(512);
    header.write(name, 0);
    return [header, Buffer.from(content.padEnd(512, "\0"))];
  });
  return gzipSync(Buffer.concat(blocks));
}

describe("API versions", () => {
  test("each served version of each CRD as group/version and group/version/Kind; unserved ones left out", () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      spec: {
        group: "probe.example.com",
        names: { kind: "Widget" },
        versions: [{ name: "v1" }, { name: "v1beta1", served: false }],
      },
    };
    expect(crdApiVersions([crd])).toEqual(["probe.example.com/v1", "probe.example.com/v1/Widget"]);
  });

  test("a chart reads API versions when a template asks, or when a packaged subchart might", () => {
    const dir = mkdtempSync(join(tmpdir(), "ktsw-apis-"));
    try {
      const chart = (name: string, entries: [string, string][]) => {
        writeFileSync(join(dir, name), tgz(entries));
        return join(dir, name);
      };
      expect(chartReadsApiVersions(chart("plain.tgz", [["c/templates/a.yaml", "kind: ConfigMap"]]))).toBe(false);
      expect(
        chartReadsApiVersions(
          chart("asks.tgz", [["c/templates/a.yaml", '{{ if .Capabilities.APIVersions.Has "x/v1" }}{{ end }}']]),
        ),
      ).toBe(true);
      expect(chartReadsApiVersions(chart("nested.tgz", [["c/charts/sub-1.0.0.tgz", "compressed"]]))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the answer is kept under the archive's digest: read back while it is unchanged, asked again after an edit", () => {
    const dir = mkdtempSync(join(tmpdir(), "ktsw-apis-"));
    try {
      const kept = join(dir, "kept");
      const chart = join(dir, "c.tgz");
      writeFileSync(chart, tgz([["c/templates/a.yaml", "kind: ConfigMap"]]));
      expect(keptChartReadsApiVersions(chart, kept)).toBe(false);
      const [entry] = readdirSync(kept);
      // What comes back is the kept entry itself: changed behind its back, the change shows.
      writeFileSync(join(kept, entry as string), "true");
      expect(keptChartReadsApiVersions(chart, kept)).toBe(true);
      writeFileSync(chart, tgz([["c/templates/a.yaml", '{{ .Capabilities.APIVersions.Has "x/v1" }}']]));
      expect(keptChartReadsApiVersions(chart, kept)).toBe(true);
      writeFileSync(chart, tgz([["c/templates/b.yaml", "kind: Secret"]]));
      expect(keptChartReadsApiVersions(chart, kept)).toBe(false);
      expect(readdirSync(kept)).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
