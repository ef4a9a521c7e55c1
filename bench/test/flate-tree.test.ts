import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { defaultChartsDir, defaultManifestsDir } from "../../packages/ktsw/src/validate/index.ts";
import { prepareFlateTree } from "../flate-tree.ts";

// The scratch tree bench:validate hands flate (no times asserted: the bench itself is not a test).
const repo = resolve(import.meta.dirname, "../..");
const charts = defaultChartsDir(repo);
const manifests = defaultManifestsDir(repo);
if (!charts || !manifests)
  console.warn("SKIPPING the flate tree test: no ../shared/charts or ../shared/manifests beside the repository");

const docsOf = (file: string) =>
  parseAllDocuments(readFileSync(file, "utf8")).map(
    (d) => d.toJS() as { kind?: string; spec?: Record<string, unknown> },
  );

describe.skipIf(!charts || !manifests)("bench:validate's tree for flate", () => {
  it("points HelmRepositories at a local HTTP copy of the chart cache and the Keycloak GitRepository at a local Git copy", async () => {
    const tree = await prepareFlateTree(repo, charts as string, manifests);
    try {
      const [repoDoc] = docsOf(join(tree.path, "kubernetes/platform/traefik/app/helmrepository.yaml"));
      const url = String(repoDoc?.spec?.url);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const index = await fetch(`${url}index.yaml`);
      expect(index.status).toBe(200);
      expect(await index.text()).toContain("traefik");
      const [git, , operator] = docsOf(join(tree.path, "kubernetes/platform/keycloak-operator/ks.yaml"));
      expect(git?.spec?.url).toMatch(/^file:\/\//);
      expect(git?.spec?.ignore).toBeUndefined();
      expect(operator?.spec?.path).toBe("./upstream/kubernetes");
    } finally {
      await tree.close();
    }
  });
});
