// The dashboard drawing for the docs, on made-up data: panels where their gridPos puts them, a line per
// series, Grafana's legends and units, and "No data" where a panel's queries returned nothing.
import { expect, test } from "vitest";
import { legend } from "../src/observability/dashboard-image.ts";
import { dashboardSvg, formatValue } from "../src/observability/dashboard-svg.ts";
import type { Dashboard } from "../src/observability/grafana.ts";

const dashboard = {
  uid: "probe",
  title: "Probe <dashboard>",
  schemaVersion: 39,
  panels: [
    { id: 1, type: "row", title: "Latency", gridPos: { h: 1, w: 24, x: 0, y: 0 } },
    {
      id: 2,
      type: "timeseries",
      title: "p99",
      gridPos: { h: 8, w: 12, x: 0, y: 1 },
      fieldConfig: { defaults: { unit: "s" } },
    },
    { id: 3, type: "timeseries", title: "errors", gridPos: { h: 8, w: 12, x: 12, y: 1 } },
  ],
} as Dashboard;

test("each panel is drawn at its grid position; series are lines with their legend; an empty panel says so", () => {
  const data = new Map([
    [
      2,
      [
        {
          label: "p99 gateway",
          points: [
            [100, 0.01],
            [101, 0.03],
            [102, 0.02],
          ] as const,
        },
      ],
    ],
  ]);
  const svg = dashboardSvg(dashboard, data, [100, 160], "a test");
  expect(svg).toMatch(/^<svg [^>]*width="1446" height="\d+"/);
  expect(svg).toContain("Probe &#60;dashboard&#62;"); // escaped
  expect(svg).toContain(">Latency</text>");
  expect(svg.match(/<polyline /g)).toHaveLength(1);
  expect(svg).toContain("p99 gateway");
  expect(svg).toContain("last 20 ms");
  expect(svg).toContain("max 30 ms");
  expect(svg).toContain(">No data</text>");
  // The second panel starts half-way across (x: 12 of 24 columns).
  expect(svg).toMatch(/<rect x="726" y="\d+" width="714"/);
});

test("values print in the panel's unit as Grafana prints them", () => {
  expect(formatValue(0.0123, "s")).toBe("12.3 ms");
  expect(formatValue(0.00002, "s")).toBe("20 µs");
  expect(formatValue(2.5, "s")).toBe("2.5 s");
  expect(formatValue(0.995, "percentunit")).toBe("99.5%");
  expect(formatValue(12.345, "reqps")).toBe("12.35 req/s");
  expect(formatValue(1500, "short")).toBe("1.5 K");
  expect(formatValue(3 * 2 ** 20, "bytes")).toBe("3 MiB");
});

test("legends follow legendFormat, else the series' labels", () => {
  expect(legend("{{method}} {{route}}", { method: "POST", route: "/v1/jobs" })).toBe("POST /v1/jobs");
  expect(legend("p99", { job: "x" })).toBe("p99");
  expect(legend(undefined, { __name__: "up", job: "gateway" })).toBe('up{job="gateway"}');
});

test("a series the panel overrides by name gets its own unit on a right axis", () => {
  const panel = {
    id: 2,
    type: "timeseries",
    title: "lag and CPU",
    gridPos: { h: 8, w: 24, x: 0, y: 0 },
    fieldConfig: {
      defaults: { unit: "s" },
      overrides: [
        {
          matcher: { id: "byName", options: "CPU cores" },
          properties: [
            { id: "unit", value: "short" },
            { id: "custom.axisPlacement", value: "right" },
          ],
        },
      ],
    },
  };
  const data = new Map([
    [
      2,
      [
        { label: "lag", points: [[0, 0.05] as const, [1, 0.04] as const] },
        { label: "CPU cores", points: [[0, 0.5] as const, [1, 0.25] as const] },
      ],
    ],
  ]);
  const svg = dashboardSvg({ uid: "p", title: "p", schemaVersion: 39, panels: [panel] } as Dashboard, data, [0, 1], "");
  expect(svg).toContain("last 40 ms");
  expect(svg).toMatch(/CPU cores<tspan[^>]*> \(right axis\) {2}last 0\.25 {2}max 0\.5</);
  expect(svg).toMatch(/text-anchor="start">0\.6</); // the right axis' top tick, in its own unit
});
