// VMRule objects (operator.victoriametrics.com/v1beta1) as the rules file vmalert reads: the operator hands vmalert
// each VMRule's spec.groups in this same shape, so the proof runs the rules exactly as the cluster's vmalert would,
// with one test-only knob, `timeScale`.

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export interface VmRule {
  kind?: string;
  metadata?: { name?: string };
  spec?: { groups?: (RuleGroup & Record<string, unknown>)[] };
}

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
const DURATION = /^(\d+(?:ms|[smhdwy]))+$/;

/** Seconds of a Prometheus duration (`90s`, `1h30m`, `3d`). */
export function durationSeconds(d: string): number {
  if (!DURATION.test(d)) throw new Error(`not a duration: ${d}`);
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+)(ms|[smhdwy])/g)) total += Number(n) * (UNIT_SECONDS[unit as string] ?? 0);
  return total;
}

/** `d` times `scale`, in whole seconds, never below one second (vmalert's and VictoriaMetrics' finest step here). */
export function scaleDuration(d: string, scale: number): string {
  return scale === 1 ? d : `${Math.max(1, Math.round(durationSeconds(d) * scale))}s`;
}

/** Every range and subquery duration of a query (`[5m]`, `[1h:5m]`) times `scale`. */
export function scaleQueryWindows(expr: string, scale: number): string {
  return expr.replace(/\[(\w+)(?::(\w*))?\]/g, (_m, range: string, step: string | undefined) =>
    step === undefined
      ? `[${scaleDuration(range, scale)}]`
      : `[${scaleDuration(range, scale)}:${step && scaleDuration(step, scale)}]`,
  );
}

/**
 * The vmalert rules file of some VMRules: their groups, each rule's fields vmalert reads. `timeScale` multiplies
 * every duration (query windows, `for`, `keep_firing_for`, group intervals): 1 is the rules as written; the proof
 * uses 1/60, so a minute of the cluster's rules passes in a second and a 10-minute window closes in 10 seconds.
 */
export function vmalertRules(vmRules: readonly VmRule[], timeScale = 1): { groups: RuleGroup[] } {
  const groups = vmRules.flatMap((r) => r.spec?.groups ?? []);
  return {
    groups: groups.map((g) => ({
      name: g.name,
      ...(g.interval ? { interval: scaleDuration(g.interval, timeScale) } : {}),
      rules: g.rules.map((rule) => {
        const out: Rule = { ...rule, expr: scaleQueryWindows(rule.expr, timeScale) };
        if (rule.for) out.for = scaleDuration(rule.for, timeScale);
        if (rule.keep_firing_for) out.keep_firing_for = scaleDuration(rule.keep_firing_for, timeScale);
        return out;
      }),
    })),
  };
}

/** Every query of some VMRules, named by group and rule (what the proof parses). */
export function ruleExprs(vmRules: readonly VmRule[]): { name: string; expr: string }[] {
  return vmRules.flatMap((r) =>
    (r.spec?.groups ?? []).flatMap((g) =>
      g.rules.map((rule) => ({ name: `${r.metadata?.name}/${g.name}/${rule.alert ?? rule.record}`, expr: rule.expr })),
    ),
  );
}
