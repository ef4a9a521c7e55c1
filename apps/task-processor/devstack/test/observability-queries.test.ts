import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { type Dashboard, dashboardProblems, dashboardTargets, grafanaExpr } from "../src/observability/grafana.ts";
import { scaleQueryWindows, vmalertRules } from "../src/observability/rules.ts";
import { treeDashboards, treeVmRules } from "../src/observability/tree.ts";
import { promscrapeConfig } from "../src/observability/victoria.ts";

// The pure halves of the observability proof: how a Grafana query is filled in, how a VMRule becomes vmalert's rules
// file (and how the test's time scale changes it), how a dashboard is checked, how the scrape is configured.

const vars = { rateInterval: "30s", interval: "5s", range: "5m", vars: { namespace: "task-processor" } };

const dashboard = (over: Partial<Dashboard> = {}): Dashboard => ({
  uid: "d",
  title: "D",
  schemaVersion: 39,
  templating: { list: [{ name: "namespace", type: "query" }] },
  panels: [
    { id: 1, type: "row", title: "Row", gridPos: { h: 1, w: 24, x: 0, y: 0 }, panels: [] },
    {
      id: 2,
      type: "timeseries",
      title: "Rate",
      gridPos: { h: 8, w: 12, x: 0, y: 1 },
      targets: [{ refId: "A", expr: 'sum(rate(x{namespace="$namespace"}[$__rate_interval]))' }],
    },
  ],
  ...over,
});

describe("Grafana queries", () => {
  test("Grafana's variables and the dashboard's are put in, in every form; an unknown one throws", () => {
    expect(grafanaExpr('rate(x{ns="$namespace"}[$__rate_interval]) + increase(x[${__range}])', vars)).toBe(
      'rate(x{ns="task-processor"}[30s]) + increase(x[5m])',
    );
    expect(grafanaExpr('x{ns=~"${namespace:regex}"}[$__interval]', vars)).toBe('x{ns=~"task-processor"}[5s]');
    expect(() => grafanaExpr('x{node="$node"}', vars)).toThrow(/unknown Grafana variable \$node/);
  });

  test("every target of every panel, rows' nested panels included, with its panel and refId", () => {
    const nested = dashboard();
    ((nested.panels ?? [])[0] as { panels: unknown[] }).panels.push({
      id: 3,
      type: "stat",
      title: "Inside",
      gridPos: { h: 4, w: 6, x: 0, y: 9 },
      targets: [{ refId: "A", expr: "up" }],
    });
    expect(dashboardTargets(nested).map((t) => `${t.panel}/${t.refId}`)).toEqual(["Inside/A", "Rate/A"]);
  });

  test("a well-formed dashboard has no problems; repeated ids, overflowing panels and undefined variables are named", () => {
    expect(dashboardProblems(dashboard())).toEqual([]);
    const broken = dashboard({ templating: { list: [] } });
    const panels = broken.panels as NonNullable<Dashboard["panels"]>;
    panels[1] = { ...panels[1], id: 1, gridPos: { h: 8, w: 12, x: 18, y: 1 } };
    expect(dashboardProblems(broken)).toEqual([
      'panel "Rate": id 1 missing or repeated',
      'panel "Rate": gridPos {"h":8,"w":12,"x":18,"y":1} is not inside 24 columns',
      'panel "Rate" A: undefined variable $namespace',
    ]);
  });
});

describe("VMRule to vmalert", () => {
  const vmRule = {
    kind: "VMRule",
    metadata: { name: "app" },
    spec: {
      groups: [
        {
          name: "g",
          interval: "30s",
          rules: [
            { alert: "A", expr: "increase(x[10m]) > 0 and max_over_time(y[1h:5m]) > 1", for: "2m", labels: { s: "w" } },
            { record: "r:rate5m", expr: "rate(x[5m])" },
          ],
        },
      ],
    },
  };

  test("the groups go over as written when the time scale is 1", () => {
    expect(vmalertRules([vmRule])).toEqual({ groups: vmRule.spec.groups });
  });

  test("the test's time scale shrinks every window, `for` and interval, never below a second", () => {
    expect(vmalertRules([vmRule], 1 / 60)).toEqual({
      groups: [
        {
          name: "g",
          interval: "1s",
          rules: [
            {
              alert: "A",
              expr: "increase(x[10s]) > 0 and max_over_time(y[60s:5s]) > 1",
              for: "2s",
              labels: { s: "w" },
            },
            { record: "r:rate5m", expr: "rate(x[5s])" },
          ],
        },
      ],
    });
    expect(scaleQueryWindows("rate(x[3d])", 1 / 60)).toBe("rate(x[4320s])");
  });
});

test("the scrape config has one job per target, named as the cluster's job label, with the target's other labels", () => {
  expect(
    promscrapeConfig([{ url: "http://127.0.0.1:9464/metrics", labels: { job: "task-worker", namespace: "ns" } }], 1),
  ).toEqual({
    global: { scrape_interval: "1s", scrape_timeout: "1s" },
    scrape_configs: [
      {
        job_name: "task-worker",
        metrics_path: "/metrics",
        static_configs: [{ targets: ["127.0.0.1:9464"], labels: { namespace: "ns" } }],
      },
    ],
  });
});

test("the tree's dashboards are found as JSON files and as JSON strings in any manifest; VMRules by kind", () => {
  const root = mkdtempSync(join(tmpdir(), "ktsw-obs-tree-"));
  try {
    mkdirSync(join(root, "a", "dashboards"), { recursive: true });
    const json = (uid: string) => JSON.stringify({ uid, title: uid, panels: [] });
    writeFileSync(join(root, "a", "dashboards", "file.json"), json("file"));
    writeFileSync(join(root, "a", "not-a-dashboard.json"), JSON.stringify({ title: "no panels" }));
    writeFileSync(
      join(root, "a", "manifests.yaml"),
      [
        `kind: ConfigMap\ndata:\n  cm.json: '${json("configmap")}'`,
        `kind: HelmRelease\nspec:\n  values:\n    dashboards:\n      d:\n        x:\n          json: '${json("values")}'`,
        "kind: VMRule\nmetadata:\n  name: r\nspec:\n  groups: []",
      ].join("\n---\n"),
    );
    writeFileSync(join(root, "a", "secret.sops.yaml"), "kind: VMRule\nmetadata:\n  name: encrypted");
    expect(treeDashboards(root).map((d) => `${d.source} ${d.doc.uid}`)).toEqual([
      "a/dashboards/file.json file",
      "a/manifests.yaml data.cm.json configmap",
      "a/manifests.yaml spec.values.dashboards.d.x.json values",
    ]);
    expect(treeVmRules(root).map((r) => r.doc.metadata?.name)).toEqual(["r"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
