// Grafana dashboard JSON, read the way the observability proof needs it: every panel query, with Grafana's variables
// put in, and a structural check. @grafana/schema (Apache-2.0) publishes TypeScript types only, no JSON schema, so the
// check is this minimal one: what Grafana needs to load the dashboard and what the proof needs to run its queries.

export interface PanelTarget {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { h?: unknown; w?: unknown; x?: unknown; y?: unknown };
  targets?: { refId?: unknown; expr?: unknown }[];
  panels?: Panel[];
}

export interface Dashboard {
  uid?: unknown;
  title?: unknown;
  schemaVersion?: unknown;
  panels?: Panel[];
  templating?: { list?: { name?: unknown; type?: unknown }[] };
}

/** Whether a parsed JSON document is a Grafana dashboard (what the proof looks for in the tree). */
export const isDashboard = (doc: unknown): doc is Dashboard =>
  typeof doc === "object" && doc !== null && Array.isArray((doc as Dashboard).panels) && "title" in doc;

/** Every panel of the dashboard, the panels of collapsed rows included. */
function allPanels(d: Dashboard): Panel[] {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every query of every panel that has one (rows and text panels have none). */
export function dashboardTargets(d: Dashboard): PanelTarget[] {
  return allPanels(d).flatMap((p) =>
    (p.targets ?? [])
      .filter((t) => typeof t.expr === "string" && t.expr.trim() !== "")
      .map((t) => ({
        dashboard: String(d.uid),
        panel: String(p.title),
        refId: String(t.refId),
        expr: t.expr as string,
      })),
  );
}

/** What Grafana puts in for its own variables and the dashboard's, as a query runs. */
export interface GrafanaVariables {
  /** $__rate_interval: Grafana makes it at least four scrape intervals */
  rateInterval: string;
  /** $__interval: the step of the graph */
  interval: string;
  /** $__range: the time picker's span */
  range: string;
  /** the dashboard's template variables, by name */
  vars: Readonly<Record<string, string>>;
}

/**
 * A value for each template variable of a dashboard, as Grafana starts with: the saved current value, else "x"
 * (enough for a query to parse; the app's own dashboards are run with real values).
 */
export function templateDefaults(d: Dashboard): Record<string, string> {
  return Object.fromEntries(
    (d.templating?.list ?? []).map((t) => {
      const current = (t as { current?: { value?: unknown } }).current?.value;
      const value = Array.isArray(current) ? current[0] : current;
      return [String(t.name), typeof value === "string" && value !== "" ? value : "x"];
    }),
  );
}

const VARIABLE = /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g;

/** The query as Grafana sends it: `$name`, `${name}` and `${name:format}` replaced; an unknown variable throws. */
export function grafanaExpr(expr: string, v: GrafanaVariables): string {
  const builtin: Record<string, string> = {
    __rate_interval: v.rateInterval,
    __interval: v.interval,
    __range: v.range,
  };
  return expr.replace(VARIABLE, (_m, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare) as string;
    const value = builtin[name] ?? v.vars[name];
    if (value === undefined) throw new Error(`unknown Grafana variable $${name} in ${expr}`);
    return value;
  });
}

const isNumber = (x: unknown) => typeof x === "number" && Number.isFinite(x);

/**
 * What is wrong with a dashboard, as messages (none: it loads and every query can run): a uid, a title, a numeric
 * schemaVersion; each panel with a unique numeric id, a type and a grid position inside Grafana's 24 columns; each
 * query with a refId unique in its panel; every variable a query uses defined by the dashboard or Grafana.
 */
export function dashboardProblems(d: Dashboard): string[] {
  const problems: string[] = [];
  if (typeof d.uid !== "string" || !/^[\w-]{1,40}$/.test(d.uid)) problems.push(`uid ${JSON.stringify(d.uid)}`);
  if (typeof d.title !== "string" || d.title === "") problems.push("no title");
  if (!isNumber(d.schemaVersion)) problems.push("no numeric schemaVersion");
  const varNames = (d.templating?.list ?? []).map((t) => t.name);
  if (varNames.some((n) => typeof n !== "string")) problems.push("a template variable without a name");
  if (new Set(varNames).size !== varNames.length) problems.push("template variable names repeat");
  const ids = new Set<unknown>();
  for (const p of allPanels(d)) {
    const where = `panel ${JSON.stringify(p.title)}`;
    if (!isNumber(p.id) || ids.has(p.id)) problems.push(`${where}: id ${JSON.stringify(p.id)} missing or repeated`);
    ids.add(p.id);
    if (typeof p.type !== "string" || p.type === "") problems.push(`${where}: no type`);
    const g = p.gridPos;
    if (!g || ![g.h, g.w, g.x, g.y].every(isNumber) || (g.x as number) + (g.w as number) > 24)
      problems.push(`${where}: gridPos ${JSON.stringify(g)} is not inside 24 columns`);
    const refIds = (p.targets ?? []).map((t) => t.refId);
    if (refIds.some((r) => typeof r !== "string") || new Set(refIds).size !== refIds.length)
      problems.push(`${where}: refIds missing or repeated`);
  }
  const known = new Set(["__rate_interval", "__interval", "__range", ...varNames.map(String)]);
  for (const t of dashboardTargets(d))
    for (const [, braced, bare] of t.expr.matchAll(VARIABLE)) {
      const name = (braced ?? bare) as string;
      if (!known.has(name)) problems.push(`panel ${JSON.stringify(t.panel)} ${t.refId}: undefined variable $${name}`);
    }
  return problems;
}
