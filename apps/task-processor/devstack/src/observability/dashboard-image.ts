// The app's dashboards as images for the docs, from a real run: every panel's queries asked of
// VictoriaMetrics over the run's span (as Grafana's time-series panel asks: query_range with Grafana's
// variables put in), drawn by dashboard-svg.ts, and turned into PNG by headless Chromium.
import type { Browser } from "playwright-core";
import { dashboardSvg, type PanelData, type Series } from "./dashboard-svg.ts";
import { type Dashboard, type GrafanaVariables, grafanaExpr } from "./grafana.ts";
import type { Victoria } from "./victoria.ts";

interface Target {
  expr?: unknown;
  legendFormat?: unknown;
}

/** Grafana's legend: `{{label}}` replaced by the series' label value; without a format, the series' labels. */
export function legend(format: unknown, labels: Readonly<Record<string, string>>): string {
  if (typeof format === "string" && format !== "" && format !== "__auto")
    return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, name: string) => labels[name] ?? "");
  const { __name__: name = "", ...rest } = labels;
  return `${name}{${Object.entries(rest)
    .map(([k, v]) => `${k}="${v}"`)
    .join(", ")}}`;
}

/** Every panel's series over `range` (unix seconds), by panel id; a query VictoriaMetrics refuses throws. */
export async function panelData(
  d: Dashboard,
  victoria: Victoria,
  vars: GrafanaVariables,
  range: [number, number],
  stepSec: number,
): Promise<PanelData> {
  const data = new Map<number, Series[]>();
  for (const p of (d.panels ?? []).filter((x) => x.type !== "row")) {
    const series: Series[] = [];
    for (const t of (p.targets ?? []) as Target[]) {
      if (typeof t.expr !== "string" || t.expr.trim() === "") continue;
      const answer = await victoria.queryRange(grafanaExpr(t.expr, vars), range[0], range[1], stepSec);
      if (answer.status !== "success") throw new Error(`panel ${String(p.title)}: ${answer.error ?? "query failed"}`);
      for (const r of (answer.data?.result ?? []) as { metric: Record<string, string>; values: [number, string][] }[])
        series.push({
          label: legend(t.legendFormat, r.metric),
          points: r.values.map(([at, v]) => [at, Number(v)] as const).filter(([, v]) => Number.isFinite(v)),
        });
    }
    data.set(Number(p.id), series);
  }
  return data;
}

/** The SVG as a PNG, the size it declares, drawn by the browser. */
export async function svgToPng(browser: Browser, svg: string): Promise<Buffer> {
  const size = /<svg[^>]*\bwidth="(\d+)"[^>]*\bheight="(\d+)"/.exec(svg);
  if (!size) throw new Error("the SVG declares no width and height");
  const page = await browser.newPage({ viewport: { width: Number(size[1]), height: Number(size[2]) } });
  try {
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    return await page.screenshot({ type: "png", fullPage: true });
  } finally {
    await page.close();
  }
}

/** One dashboard as a PNG from the run's data. */
export async function dashboardPng(
  browser: Browser,
  d: Dashboard,
  victoria: Victoria,
  vars: GrafanaVariables,
  range: [number, number],
  stepSec: number,
  caption: string,
): Promise<{ png: Buffer; data: PanelData }> {
  const data = await panelData(d, victoria, vars, range, stepSec);
  return { png: await svgToPng(browser, dashboardSvg(d, data, range, caption)), data };
}
