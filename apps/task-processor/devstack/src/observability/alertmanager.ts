import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, relative } from "node:path";
import { substituteManifests } from "@ktsw/cli/flux-substitute";
import { parse, stringify } from "yaml";
import { type RunningServer, startHttpTool } from "../servers.ts";
import { scaleDuration } from "./rules.ts";
import { treeRoot } from "./tree.ts";

// Alertmanager (built from its Go module, deps/go-tools.txt) as the alert-delivery proof runs it: with the routing
// config the tree's VMAlertmanager declares, its receivers' URL files moved from the pod's secret mount to files the
// test writes, and a webhook server of the test's own standing in for the site's receiver.

/** The file of the tree that declares the VMAlertmanager, relative to the repository's kubernetes/ folder. */
export const VMALERTMANAGER_FILE = "observability/alertmanager/app/vmalertmanager.yaml";
/** Where the operator mounts each Secret of `spec.secrets`: /etc/vm/secrets/<secret>/<key>. */
export const SECRETS_DIR = "/etc/vm/secrets";

interface VmAlertmanager {
  kind?: string;
  metadata?: { name?: string };
  spec?: { configRawYaml?: string; secrets?: string[] };
}

/** A route of Alertmanager's config, the fields the proof touches. */
export interface AmRoute {
  receiver?: string;
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  matchers?: string[];
  routes?: AmRoute[];
  [k: string]: unknown;
}

export interface AmConfig {
  route: AmRoute;
  inhibit_rules?: Record<string, unknown>[];
  receivers: { name: string; webhook_configs?: { url_file?: string; url?: string; [k: string]: unknown }[] }[];
  [k: string]: unknown;
}

/**
 * The VMAlertmanager of the tree as Flux applies it: its file through Flux's substitution with no variables set, so a
 * `${VAR}` in it (which the proof's config would then lack) is an error here, not a silent difference.
 */
export function treeVmAlertmanager(root = treeRoot): {
  source: string;
  spec: { configRawYaml: string; secrets: string[] };
} {
  const file = join(root, VMALERTMANAGER_FILE);
  const { objects, undefinedVars, problems } = substituteManifests(readFileSync(file, "utf8"), {});
  const source = relative(join(root, ".."), file);
  const errors = [...undefinedVars.map((v) => `\${${v}} would be substituted by Flux`), ...problems];
  if (errors.length > 0) throw new Error(`${source}: ${errors.join("; ")}`);
  const found = (objects as VmAlertmanager[]).filter((o) => o.kind === "VMAlertmanager");
  if (found.length !== 1) throw new Error(`${source}: ${found.length} VMAlertmanager objects, expected one`);
  const spec = found[0]?.spec;
  if (!spec?.configRawYaml) throw new Error(`${source}: the VMAlertmanager has no spec.configRawYaml`);
  return { source, spec: { configRawYaml: spec.configRawYaml, secrets: spec.secrets ?? [] } };
}

/** Every webhook URL file the config reads, as `<secret>/<key>` under SECRETS_DIR (pure). */
export function secretUrlFiles(config: AmConfig): { receiver: string; secret: string; key: string }[] {
  return config.receivers.flatMap((r) =>
    (r.webhook_configs ?? []).flatMap((w) => {
      if (!w.url_file) return [];
      const rel = relative(SECRETS_DIR, w.url_file);
      const [secret, key, ...rest] = rel.split("/");
      if (rel.startsWith("..") || !secret || !key || rest.length > 0)
        throw new Error(`receiver ${r.name}: url_file ${w.url_file} is not a file of a Secret under ${SECRETS_DIR}`);
      return [{ receiver: r.name, secret, key }];
    }),
  );
}

/** The config with every url_file under SECRETS_DIR moved to the same `<secret>/<key>` under `dir` (pure). */
export function relocateSecrets(config: AmConfig, dir: string): AmConfig {
  return {
    ...config,
    receivers: config.receivers.map((r) => ({
      ...r,
      ...(r.webhook_configs
        ? {
            webhook_configs: r.webhook_configs.map((w) =>
              w.url_file ? { ...w, url_file: join(dir, relative(SECRETS_DIR, w.url_file)) } : w,
            ),
          }
        : {}),
    })),
  };
}

/**
 * The config with every route's group_wait, group_interval and repeat_interval times `scale` (pure): the proof's one
 * knob, as for the rules (rules.ts), so a 5-minute group interval passes in seconds. Alertmanager's defaults (30s, 5m,
 * 4h) are scaled too where a route leaves them unset at the top.
 */
export function scaleRouteTimings(config: AmConfig, scale: number): AmConfig {
  const scaleRoute = (r: AmRoute, top: boolean): AmRoute => {
    const out: AmRoute = { ...r };
    const defaults = { group_wait: "30s", group_interval: "5m", repeat_interval: "4h" } as const;
    for (const key of ["group_wait", "group_interval", "repeat_interval"] as const) {
      const d = r[key] ?? (top ? defaults[key] : undefined);
      if (d !== undefined) out[key] = d === "0s" ? d : scaleDuration(d, scale);
    }
    if (r.routes) out.routes = r.routes.map((c) => scaleRoute(c, false));
    return out;
  };
  return { ...config, route: scaleRoute(config.route, true) };
}

export const parseAmConfig = (text: string): AmConfig => parse(text) as AmConfig;

/** A running Alertmanager and its API v2. */
export interface Alertmanager extends RunningServer {
  /** Posts alerts to /api/v2/alerts, as vmalert does. */
  post(alerts: PostedAlert[]): Promise<void>;
  /** Alertmanager's own view of its health: `GET /api/v2/status` (cluster status, config as loaded, uptime). */
  status(): Promise<{ cluster: { status: string }; config: { original: string } }>;
}

export interface PostedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
}

/**
 * Alertmanager with `config` as its config file, clustering off (as the operator runs one replica). `secretFiles`
 * (`<secret>/<key>` → content) are what the pod's secret mount would hold: they are written in the server's own
 * dir, and the config's url_files under SECRETS_DIR point there.
 */
export async function startAlertmanager(
  config: AmConfig,
  secretFiles: Record<string, string> = {},
): Promise<Alertmanager> {
  const server = await startHttpTool("alertmanager", (port, dir) => {
    const secrets = join(dir, "secrets");
    writeSecretFiles(secrets, secretFiles);
    const file = join(dir, "alertmanager.yml");
    writeFileSync(file, stringify(relocateSecrets(config, secrets)));
    return [
      `--config.file=${file}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=warn",
    ];
  });
  return Object.assign(server, {
    async post(alerts: PostedAlert[]) {
      const r = await fetch(`${server.url}/api/v2/alerts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alerts),
      });
      if (!r.ok) throw new Error(`Alertmanager refused the alerts: ${r.status} ${await r.text()}`);
    },
    async status() {
      const r = await fetch(`${server.url}/api/v2/status`);
      return (await r.json()) as { cluster: { status: string }; config: { original: string } };
    },
  });
}

/** The secret files that send every receiver's notifications to `${sinkUrl}/<receiver>` (pure). */
export function receiversAt(config: AmConfig, sinkUrl: string): Record<string, string> {
  return Object.fromEntries(secretUrlFiles(config).map((f) => [`${f.secret}/${f.key}`, `${sinkUrl}/${f.receiver}`]));
}

/** Writes `files` (`<secret>/<key>` → content) under `dir`, as the pod's secret mount has them. */
function writeSecretFiles(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/** A notification as Alertmanager's webhook receiver sends it (version 4). */
export interface WebhookMessage {
  receiver: string;
  status: "firing" | "resolved";
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  groupKey: string;
}

/** An HTTP server on loopback that records every notification POSTed to it, with when it arrived. */
export interface WebhookSink {
  url: string;
  received: { at: number; path: string; message: WebhookMessage }[];
  stop(): Promise<void>;
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const received: WebhookSink["received"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        received.push({
          at: Date.now(),
          path: req.url ?? "",
          message: JSON.parse(Buffer.concat(chunks).toString("utf8")) as WebhookMessage,
        });
        res.writeHead(200).end();
      } catch (e) {
        res.writeHead(400).end(String(e));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    stop: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
