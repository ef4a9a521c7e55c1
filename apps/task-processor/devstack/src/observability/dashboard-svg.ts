// A Grafana dashboard drawn as SVG from the data its queries returned: each panel where its gridPos
// puts it (24 columns, 30 px a row as Grafana lays them out), rows as headings, time series as lines
// with a legend. Not Grafana (whose server is AGPL and not built here): a faithful sketch of what the
// dashboard shows, made for the docs from a real run. Pure: dashboard + data in, SVG text out.
import type { Dashboard } from "./grafana.ts";

export interface Series {
  /** The legend, as Grafana makes it from the target's legendFormat. */
  label: string;
  /** [unix seconds, value], in time order. */
  points: readonly (readonly [number, number])[];
}

/** What each panel's queries returned, by panel id. */
export type PanelData = ReadonlyMap<number, readonly Series[]>;

interface Layout {
  /** The dashboard's width in px (24 columns). */
  width: number;
  /** Grafana's height of one grid unit. */
  rowPx: number;
}

const LAYOUT: Layout = { width: 1440, rowPx: 30 };
const GAP = 6;
const PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#fade2a"];
const INK = "#d8d9da";
const FAINT = "#8e8e8e";
const GRID = "#2c3235";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A value as Grafana's unit would print it (the units the tree's dashboards use; others as plain numbers). */
export function formatValue(v: number, unit: string | undefined): string {
  const n = (x: number, d = 2) => (Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toFixed(d)).toString());
  switch (unit) {
    case "s":
      if (v === 0) return "0 s";
      if (Math.abs(v) < 1e-3) return `${n(v * 1e6)} µs`;
      if (Math.abs(v) < 1) return `${n(v * 1e3)} ms`;
      return `${n(v)} s`;
    case "percentunit":
      return `${n(v * 100, 1)}%`;
    case "reqps":
      return `${n(v)} req/s`;
    case "ops":
      return `${n(v)} ops/s`;
    case "bytes":
      return v >= 2 ** 20 ? `${n(v / 2 ** 20)} MiB` : v >= 1024 ? `${n(v / 1024)} KiB` : `${n(v)} B`;
    default:
      return Math.abs(v) >= 1e6 ? `${n(v / 1e6)} M` : Math.abs(v) >= 1e3 ? `${n(v / 1e3)} K` : n(v);
  }
}

/** Round tick steps (1, 2, 5 × 10^k) giving about `count` ticks from 0 (or below) to max. */
function ticks(min: number, top: number, count = 4): number[] {
  const max = top > min ? top : min + 1; // a flat line still gets an axis
  const span = max - min;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let t = Math.floor(min / step) * step; ; t += step) {
    out.push(Number(t.toPrecision(12)));
    if (t >= max) return out;
  }
}

/** A series' own unit and axis, from the panel's `byName` field overrides (what Grafana applies by legend). */
export interface SeriesStyle {
  unit?: string;
  rightAxis?: boolean;
}

interface Override {
  matcher?: { id?: string; options?: unknown };
  properties?: { id?: string; value?: unknown }[];
}

/** The style each overridden series name gets; the rest use the panel's defaults (left axis). */
export function seriesStyles(fieldConfig: { overrides?: Override[] } | undefined): Map<string, SeriesStyle> {
  const styles = new Map<string, SeriesStyle>();
  for (const o of fieldConfig?.overrides ?? []) {
    if (o.matcher?.id !== "byName" || typeof o.matcher.options !== "string") continue;
    const style: SeriesStyle = {};
    for (const p of o.properties ?? []) {
      if (p.id === "unit" && typeof p.value === "string") style.unit = p.value;
      if (p.id === "custom.axisPlacement") style.rightAxis = p.value === "right";
    }
    styles.set(o.matcher.options, style);
  }
  return styles;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Axis {
  unit: string | undefined;
  ticks: number[];
  /** The value's y in px. */
  y: (v: number) => number;
}

function axis(values: readonly number[], unit: string | undefined, top: number, height: number): Axis {
  const t = ticks(Math.min(0, ...values), Math.max(...values));
  const [lo, hi] = [t[0] ?? 0, t.at(-1) ?? 1];
  return { unit, ticks: t, y: (v) => top + height - ((v - lo) / (hi - lo || 1)) * height };
}

function timeseries(
  panel: { title: string; unit: string | undefined; styles: ReadonlyMap<string, SeriesStyle> },
  series: readonly Series[],
  box: Box,
  range: [number, number],
) {
  const parts = [
    `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="3" fill="#181b1f" stroke="${GRID}"/>`,
    `<text x="${box.x + 10}" y="${box.y + 20}" fill="${INK}" font-size="13" font-weight="600">${esc(truncate(panel.title, box.w / 7))}</text>`,
  ];
  const values = series.flatMap((s) => s.points.map((p) => p[1]));
  if (values.length === 0) {
    parts.push(
      `<text x="${box.x + box.w / 2}" y="${box.y + box.h / 2}" fill="${FAINT}" font-size="13" text-anchor="middle">No data</text>`,
    );
    return parts.join("");
  }
  const styleOf = (s: Series) => panel.styles.get(s.label) ?? {};
  const unitOf = (s: Series) => styleOf(s).unit ?? panel.unit;
  const right = series.filter((s) => styleOf(s).rightAxis);
  const left = series.filter((s) => !styleOf(s).rightAxis);
  const legendRows = Math.min(series.length, 4);
  const plot = {
    x: box.x + 64,
    y: box.y + 34,
    w: box.w - 78 - (right.length ? 56 : 0),
    h: box.h - 56 - legendRows * 16,
  };
  const valuesOf = (group: readonly Series[]) => group.flatMap((s) => s.points.map((p) => p[1]));
  const axes = new Map<Series, Axis>();
  for (const [group, side] of [
    [left, "left"],
    [right, "right"],
  ] as const) {
    if (group.length === 0) continue;
    const a = axis(valuesOf(group), unitOf(group[0] as Series), plot.y, plot.h);
    for (const s of group) axes.set(s, a);
    for (const t of a.ticks) {
      const y = a.y(t).toFixed(1);
      if (side === "left")
        parts.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${y}" y2="${y}" stroke="${GRID}"/>`);
      const [x, anchor] = side === "left" ? [plot.x - 6, "end"] : [plot.x + plot.w + 6, "start"];
      parts.push(
        `<text x="${x}" y="${Number(y) + 4}" fill="${FAINT}" font-size="10" text-anchor="${anchor}">${esc(formatValue(t, a.unit))}</text>`,
      );
    }
  }
  const [t0, t1] = range;
  const px = (t: number) => plot.x + ((t - t0) / (t1 - t0 || 1)) * plot.w;
  for (const t of ticks(0, t1 - t0, 5).filter((s) => s <= t1 - t0)) {
    const x = px(t0 + t).toFixed(1);
    parts.push(
      `<text x="${x}" y="${plot.y + plot.h + 13}" fill="${FAINT}" font-size="10" text-anchor="middle">${clock(t)}</text>`,
    );
  }
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const a = axes.get(s) as Axis;
    const d = s.points.map(([t, v]) => `${px(t).toFixed(1)},${a.y(v).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${d}" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
    if (i >= legendRows) return;
    const last = s.points.at(-1)?.[1];
    const max = Math.max(...s.points.map((p) => p[1]));
    const ly = plot.y + plot.h + 30 + i * 16;
    const more = i === legendRows - 1 && series.length > legendRows ? `  (+${series.length - legendRows} more)` : "";
    const side = right.length && styleOf(s).rightAxis ? " (right axis)" : "";
    parts.push(`<rect x="${box.x + 12}" y="${ly - 8}" width="10" height="3" fill="${colour}"/>`);
    parts.push(
      `<text x="${box.x + 28}" y="${ly - 3}" fill="${INK}" font-size="11">${esc(truncate(s.label, box.w / 9))}<tspan fill="${FAINT}">${side}  last ${esc(formatValue(last ?? 0, unitOf(s)))}  max ${esc(formatValue(max, unitOf(s)))}${more}</tspan></text>`,
    );
  });
  return parts.join("");
}

const truncate = (s: string, chars: number) => (s.length > chars ? `${s.slice(0, Math.max(1, chars - 1))}…` : s);
const clock = (sec: number) => `${Math.floor(sec / 60)}:${String(Math.round(sec % 60)).padStart(2, "0")}`;

/**
 * The dashboard as SVG; `range` is the time span drawn (unix seconds; the x axis counts minutes:seconds from
 * its start), `caption` says where the data came from.
 */
export function dashboardSvg(
  d: Dashboard,
  data: PanelData,
  range: [number, number],
  caption: string,
  layout = LAYOUT,
): string {
  const col = layout.width / 24;
  const head = 44;
  const panels = d.panels ?? [];
  const bottom = Math.max(0, ...panels.map((p) => Number(p.gridPos?.y ?? 0) + Number(p.gridPos?.h ?? 0)));
  const height = head + bottom * layout.rowPx + GAP;
  const body = panels.map((p) => {
    const g = { x: Number(p.gridPos?.x), y: Number(p.gridPos?.y), w: Number(p.gridPos?.w), h: Number(p.gridPos?.h) };
    const box = {
      x: g.x * col + GAP,
      y: head + g.y * layout.rowPx + GAP,
      w: g.w * col - GAP,
      h: g.h * layout.rowPx - GAP,
    };
    if (p.type === "row")
      return `<text x="${box.x}" y="${box.y + 17}" fill="${INK}" font-size="15" font-weight="600">${esc(String(p.title))}</text>`;
    const { fieldConfig } = p as { fieldConfig?: { defaults?: { unit?: string }; overrides?: Override[] } };
    const panel = { title: String(p.title), unit: fieldConfig?.defaults?.unit, styles: seriesStyles(fieldConfig) };
    return timeseries(panel, data.get(Number(p.id)) ?? [], box, range);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width + GAP}" height="${height}" font-family="Inter, Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#111217"/>`,
    `<text x="${GAP + 4}" y="28" fill="${INK}" font-size="19" font-weight="600">${esc(String(d.title))}</text>`,
    `<text x="${layout.width}" y="28" fill="${FAINT}" font-size="12" text-anchor="end">${esc(caption)}</text>`,
    ...body,
    "</svg>",
  ].join("\n");
}
