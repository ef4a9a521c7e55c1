// The chart cache is an ordinary Helm repository index: a pin resolves to its package or says which
// versions the cache has.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { chartIndexFrom, readChartIndex, resolveChart } from "../../../src/validate/helm/chart-cache.ts";

const index = chartIndexFrom(
  {
    apiVersion: "v1",
    entries: {
      gatekeeper: [{ version: "3.23.0", urls: ["gatekeeper-3.23.0.tgz"] }],
      "cert-manager": [{ version: "v1.21.1", urls: ["cert-manager-v1.21.1.tgz"] }],
      remote: [{ version: "1.0.0", urls: ["https://example.com/remote-1.0.0.tgz"] }],
    },
  },
  "/charts",
);

describe("chart cache", () => {
  test("an exact pin resolves to the package beside index.yaml", () => {
    expect(resolveChart(index, "gatekeeper", "3.23.0")).toEqual({
      found: true,
      chart: { name: "gatekeeper", version: "3.23.0", file: join("/charts", "gatekeeper-3.23.0.tgz") },
    });
  });

  test("a leading v is the same semver version either way", () => {
    expect(resolveChart(index, "cert-manager", "1.21.1").found).toBe(true);
    expect(resolveChart(index, "gatekeeper", "v3.23.0").found).toBe(true);
  });

  test("a version the cache lacks lists the versions it has", () => {
    expect(resolveChart(index, "gatekeeper", "3.23.1")).toEqual({ found: false, available: ["3.23.0"] });
    expect(resolveChart(index, "nope", "1.0.0")).toEqual({ found: false, available: [] });
  });

  test("a package only reachable over the network does not count offline", () => {
    expect(resolveChart(index, "remote", "1.0.0")).toEqual({ found: false, available: [] });
  });

  test("index.yaml's parse is kept under its text: read back while unchanged, parsed again after an edit", () => {
    const dir = mkdtempSync(join(tmpdir(), "ktsw-chart-index-"));
    try {
      const kept = join(dir, "kept");
      const write = (version: string) =>
        writeFileSync(
          join(dir, "index.yaml"),
          `apiVersion: v1\nentries:\n  app:\n    - version: ${version}\n      urls: [app-${version}.tgz]\n`,
        );
      const versions = () => [...(readChartIndex(dir, kept).get("app") ?? [])].map((c) => c.version);
      write("1.0.0");
      expect(versions()).toEqual(["1.0.0"]);
      const [entry] = readdirSync(kept);
      // What comes back is the kept entry itself: changed behind its back, the change shows.
      writeFileSync(
        join(kept, entry as string),
        JSON.stringify({ entries: { app: [{ version: "9.9.9", urls: ["a.tgz"] }] } }),
      );
      expect(versions()).toEqual(["9.9.9"]);
      write("1.1.0");
      expect(versions()).toEqual(["1.1.0"]);
      expect(readdirSync(kept)).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
