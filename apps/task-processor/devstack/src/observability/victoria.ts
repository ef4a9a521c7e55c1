import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { type RunningServer, startHttpTool } from "../servers.ts";
import type { RuleGroup } from "./rules.ts";

// VictoriaMetrics single-node and vmalert (both built from their Go module, deps/go-tools.txt) as the proof runs
// them: VictoriaMetrics scrapes the services' /metrics as the cluster's VMServiceScrape does, and answers the
// dashboards' and rules' queries; vmalert evaluates the rules against it, writing recorded series back to it.

/** A `/metrics` endpoint and the labels the cluster's scrape gives its series (`job` = the Service's name). */
export interface ScrapeTarget {
  url: string;
  labels: { job: string } & Record<string, string>;
}

/** The -promscrape.config of some targets, one scrape job each (pure). */
export function promscrapeConfig(targets: readonly ScrapeTarget[], intervalSec: number) {
  return {
    global: { scrape_interval: `${intervalSec}s`, scrape_timeout: `${intervalSec}s` },
    scrape_configs: targets.map((t) => {
      const u = new URL(t.url);
      const { job, ...labels } = t.labels;
      return {
        job_name: job,
        metrics_path: u.pathname,
        static_configs: [{ targets: [u.host], labels }],
      };
    }),
  };
}

export interface QueryAnswer {
  status: "success" | "error";
  data?: { resultType: string; result: unknown[] };
  errorType?: string;
  error?: string;
}

export interface Victoria extends RunningServer {
  /** An instant query at now through the Prometheus API; the answer as VictoriaMetrics gives it. */
  query(expr: string): Promise<QueryAnswer>;
  /** A range query (unix seconds, step in seconds), as a Grafana time-series panel sends it. */
  queryRange(expr: string, start: number, end: number, step: number): Promise<QueryAnswer>;
}

export async function startVictoriaMetrics(targets: readonly ScrapeTarget[], intervalSec: number): Promise<Victoria> {
  const server = await startHttpTool("victoria-metrics", (port, dir) => {
    const config = join(dir, "promscrape.yaml");
    writeFileSync(config, stringify(promscrapeConfig(targets, intervalSec)));
    return [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${join(dir, "data")}`,
      `-promscrape.config=${config}`,
      "-promscrape.config.strictParse",
      // A sample is queryable at once (the default holds back the last 30 s) and no answer is cached:
      // the proof queries data seconds old and expects each scrape to count.
      "-search.latencyOffset=0s",
      "-search.disableCache",
      "-loggerLevel=ERROR",
    ];
  });
  const ask = async (path: string, params: Record<string, string>): Promise<QueryAnswer> => {
    const r = await fetch(`${server.url}${path}`, { method: "POST", body: new URLSearchParams(params) });
    return (await r.json()) as QueryAnswer;
  };
  return Object.assign(server, {
    query: (expr: string) => ask("/api/v1/query", { query: expr }),
    queryRange: (expr: string, start: number, end: number, step: number) =>
      ask("/api/v1/query_range", { query: expr, start: String(start), end: String(end), step: String(step) }),
  });
}

export interface AlertState {
  name: string;
  state: "pending" | "firing" | string;
  labels: Record<string, string>;
  activeAt: string;
}

export interface Vmalert extends RunningServer {
  /** The alerts vmalert holds now (pending or firing). */
  alerts(): Promise<AlertState[]>;
}

/**
 * vmalert evaluating `groups` every `evalSec` against `victoria`, its recording rules written back there; its alerts
 * go to the Alertmanager at `notifierUrl`, as the cluster's VMAlert sends them (spec.notifier), or nowhere without one.
 */
export async function startVmalert(
  groups: { groups: RuleGroup[] },
  victoria: RunningServer,
  evalSec: number,
  notifierUrl?: string,
): Promise<Vmalert> {
  const server = await startHttpTool("vmalert", (port, dir) => {
    const rules = join(dir, "rules.yaml");
    writeFileSync(rules, stringify(groups));
    return [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-rule=${rules}`,
      `-datasource.url=${victoria.url}`,
      `-remoteWrite.url=${victoria.url}`,
      "-remoteWrite.flushInterval=1s",
      `-evaluationInterval=${evalSec}s`,
      // Evaluate at now, not 30 s back (the default allows for ingestion delay the proof does not have).
      "-rule.evalDelay=0s",
      // Without an Alertmanager the proof reads the alerts' state from vmalert's API alone.
      notifierUrl ? `-notifier.url=${notifierUrl}` : "-notifier.blackhole",
      "-loggerLevel=ERROR",
    ];
  });
  return Object.assign(server, {
    async alerts(): Promise<AlertState[]> {
      const r = await fetch(`${server.url}/api/v1/alerts`);
      const body = (await r.json()) as { data: { alerts: AlertState[] } };
      return body.data.alerts;
    },
  });
}
