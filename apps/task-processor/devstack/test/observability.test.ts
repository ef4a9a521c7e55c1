import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { whyMissing } from "@ktsw/cli/tools";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import WebSocket from "ws";
import { chromiumMissing, launchChromium } from "../src/chromium.ts";
import {
  parseAmConfig,
  receiversAt,
  scaleRouteTimings,
  startAlertmanager,
  startWebhookSink,
  treeVmAlertmanager,
} from "../src/observability/alertmanager.ts";
import { dashboardPng } from "../src/observability/dashboard-image.ts";
import {
  dashboardProblems,
  dashboardTargets,
  type GrafanaVariables,
  grafanaExpr,
  templateDefaults,
} from "../src/observability/grafana.ts";
import { type Otelcol, type OtlpSpan, otelcolMissing, startOtelcol } from "../src/observability/otelcol.ts";
import { ruleExprs, vmalertRules } from "../src/observability/rules.ts";
import { treeDashboards, treeVmRules } from "../src/observability/tree.ts";
import { startVictoriaMetrics, startVmalert, type Victoria } from "../src/observability/victoria.ts";
import { type ServiceProcesses, startServiceProcesses } from "../src/processes.ts";
import { type Infra, infraUrls, startInfra } from "../src/stack.ts";
import { skipReason } from "../src/testkit.ts";

// The observability proof: the app's services run as processes, a real VictoriaMetrics scrapes their /metrics as the
// cluster's VMServiceScrape does (job = the Service's name, namespace = the app's), a load runs, and then every panel
// query of the app's dashboards returns data, every dashboard and VMRule query of the whole tree parses, and vmalert
// running the app's VMRule fires the dead-letter alert when jobs fail during a worker kill, then resolves it; with the
// tree's Alertmanager config on a real Alertmanager, both reach a webhook standing in for the site's receiver. A real
// OpenTelemetry Collector (its OTLP receiver standing in for Tempo's) receives one job's trace across gateway → NATS →
// worker → PostgreSQL, and its id is in both services' JSON logs.

const missing = skipReason ?? whyMissing(["victoria-metrics", "vmalert"]);
if (missing && !skipReason) console.warn(`\n!!! observability proof SKIPPED: ${missing}\n`);
const collectorMissing = otelcolMissing();
if (!missing && collectorMissing)
  console.warn(`\n!!! observability proof: the trace test SKIPPED: ${collectorMissing}\n`);
const browserMissing = chromiumMissing();
if (!missing && browserMissing)
  console.warn(`\n!!! observability proof: the dashboard images SKIPPED: ${browserMissing}\n`);
/** Where the dashboard images are kept (`npm run docs:dashboards`); else they are drawn and checked only. */
const imagesDir = process.env.KTSW_DASHBOARD_IMAGES;
const alertmanagerMissing = whyMissing(["alertmanager"]);
if (!missing && alertmanagerMissing)
  console.warn(`\n!!! observability proof: the alert-delivery test SKIPPED: ${alertmanagerMissing}\n`);

const NAMESPACE = "task-processor";
const SCRAPE_SEC = 1;
/** The rules' durations as the test runs them: a minute of the cluster's rules passes in a second. */
const TIME_SCALE = 1 / 60;
/** What Grafana would put in, for a 1 s scrape interval, over the few minutes the test's data spans. */
const GRAFANA: GrafanaVariables = {
  rateInterval: "30s",
  interval: "5s",
  range: "5m",
  vars: { namespace: NAMESPACE, datasource: "VictoriaMetrics" },
};
const APP_DASHBOARDS = ["ktsw-task-overview", "ktsw-task-gateway", "ktsw-task-worker", "ktsw-task-status"];

describe.skipIf(missing)("observability proof on real VictoriaMetrics and vmalert", () => {
  let infra: Infra;
  let svc: ServiceProcesses;
  let victoria: Victoria;
  let collector: Otelcol | undefined;
  const logs: { service: string; line: Record<string, unknown> }[] = [];
  let token: string;
  let trickling = true;
  let trickle: Promise<void> | undefined;
  /** set while a test needs the app to itself (one job's trace with nothing batched beside it) */
  // The trace test pauses the trickle: `park` is its word that no submission of its own is in flight.
  let paused: { resume: () => void; idle: Promise<void>; park: () => void } | undefined;
  let lastTrickled: string | undefined;

  const submit = async (body: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${svc.gateway.url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify(body),
    });
    expect(r.status, await r.clone().text()).toBe(202);
    return ((await r.json()) as { id: string }).id;
  };
  const jobStatus = async (id: string) =>
    (
      (await (
        await fetch(`${svc.status.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { status?: string }
    ).status;

  /** Watches a job over the status WebSocket until it is done, then closes: opens, pushes and a close to count. */
  const watchOverWebSocket = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${svc.status.url.replace(/^http/, "ws")}/v1/ws`);
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no WebSocket snapshot of job ${id} within 20 s`));
      }, 20_000);
      ws.on("open", () => {
        ws.send(JSON.stringify({ type: "auth", token }));
        ws.send(JSON.stringify({ type: "subscribe", ids: [id] }));
      });
      ws.on("message", (data) => {
        if ((JSON.parse(String(data)) as { type: string }).type === "snapshot") ws.close(1000, "seen");
      });
      ws.on("close", () => {
        clearTimeout(timer);
        resolve();
      });
      ws.on("error", reject);
    });

  /** When the load began (unix seconds): where the dashboard images start. */
  let loadStarted = 0;
  /** How many jobs the last call below failed: the dead-letter count of the worker process it left running. */
  let failedLastTime = 0;
  /**
   * Kills the worker, then submits jobs that fail: once it is back they reach the dead-letter stream. The restarted
   * worker counts from zero again, and a counter back at the value it had before the kill shows no increase at all,
   * so each call fails one job more than the last (three the first time).
   */
  const failJobsDuringWorkerKill = async () => {
    await svc.worker.kill9();
    const count = Math.max(3, failedLastTime + 1);
    failedLastTime = count;
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        submit({ type: "fail", payload: { reason: `observability proof ${i + 1}/${count}` } }),
      ),
    );
  };
  const appRules = () =>
    vmalertRules(
      treeVmRules()
        .filter((r) => r.source.startsWith("apps/task-processor/"))
        .map((r) => r.doc),
      TIME_SCALE,
    );

  beforeAll(async () => {
    infra = await startInfra();
    collector = collectorMissing ? undefined : await startOtelcol();
    svc = await startServiceProcesses(infraUrls(infra), {
      // Failing jobs reach the dead-letter stream after two quick attempts.
      env: {
        MAX_DELIVER: "2",
        BACKOFF_MS: "200",
        ...(collector ? { OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: "200" } : {}),
      },
      logLevel: "info",
      onLine: (service, line) => logs.push({ service, line }),
    });
    token = await infra.issuer.issue({ expiresIn: 3_600 });
    victoria = await startVictoriaMetrics(
      (["gateway", "worker", "status"] as const).map((s) => ({
        url: svc.metricsUrls[s],
        labels: { job: `task-${s}`, namespace: NAMESPACE },
      })),
      SCRAPE_SEC,
    );
    loadStarted = Math.floor(Date.now() / 1000);
    // The load: a few hundred jobs, ten at a time, each looked up on the status API.
    const ids: string[] = [];
    for (let i = 0; i < 30; i++)
      ids.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, (_, j) =>
            submit({ type: "hash", payload: { data: `load ${i}/${j}`, rounds: 1 } }),
          ),
        )),
      );
    await Promise.all(ids.slice(0, 20).map(jobStatus));
    await watchOverWebSocket(ids[0] as string);
    // A refusal, for the 4xx panels.
    expect((await fetch(`${svc.gateway.url}/v1/jobs`, { method: "POST" })).status).toBe(401);
    // Then a trickle until the end, as a live system has: rates over the last 30 s stay defined.
    trickle = (async () => {
      for (let i = 0; trickling; i++) {
        if (paused) {
          const { idle, park } = paused;
          park();
          await idle;
        }
        const id = await submit({ type: "wordstats", payload: { text: `trickle ${i}` } }).catch(() => undefined);
        if (id) lastTrickled = id;
        if (id) await jobStatus(id).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }, 180_000);

  afterAll(async () => {
    trickling = false;
    await trickle;
    paused?.resume();
    await victoria?.stop();
    await collector?.stop();
    await svc?.stop();
    await infra?.stop();
  }, 60_000);

  test("every panel query of the app's four dashboards returns data", async () => {
    const dashboards = treeDashboards().filter((d) => APP_DASHBOARDS.includes(String(d.doc.uid)));
    expect(dashboards.map((d) => d.doc.uid).sort()).toEqual([...APP_DASHBOARDS].sort());
    const targets = dashboards.flatMap((d) => dashboardTargets(d.doc));
    for (const t of targets) {
      const expr = grafanaExpr(t.expr, GRAFANA);
      await expect
        .poll(
          async () => {
            const a = await victoria.query(expr);
            if (a.status !== "success") throw new Error(`${a.errorType}: ${a.error}`);
            return a.data?.result.length ?? 0;
          },
          {
            timeout: 30_000,
            interval: 500,
            message: `${t.dashboard} "${t.panel}" ${t.refId} returned no data: ${expr}`,
          },
        )
        .toBeGreaterThan(0);
    }
    console.log(`observability: ${targets.length} panel queries of ${dashboards.length} dashboards returned data`);
  }, 120_000);

  test("every dashboard of the tree is well formed and every panel query parses", async () => {
    const dashboards = treeDashboards();
    for (const { source, doc } of dashboards) {
      expect(dashboardProblems(doc), source).toEqual([]);
      for (const t of dashboardTargets(doc)) {
        const expr = grafanaExpr(t.expr, { ...GRAFANA, vars: { ...templateDefaults(doc), ...GRAFANA.vars } });
        const a = await victoria.query(expr);
        expect(a.error ?? "", `${source} "${t.panel}" ${t.refId}: ${expr}`).toBe("");
      }
    }
    console.log(`observability: ${dashboards.length} dashboards in the tree, every query parses`);
  }, 60_000);

  test("every VMRule expression of the tree parses", async () => {
    const rules = ruleExprs(treeVmRules().map((r) => r.doc));
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      const a = await victoria.query(r.expr);
      expect(a.error ?? "", `${r.name}: ${r.expr}`).toBe("");
    }
    console.log(`observability: ${rules.length} VMRule expressions parse`);
  }, 60_000);

  test("vmalert fires the dead-letter alert when jobs fail during a worker kill, and resolves it afterwards", async () => {
    const vmalert = await startVmalert(appRules(), victoria, 1);
    try {
      const deadLetterAlert = async () => (await vmalert.alerts()).find((a) => a.name === "TaskJobsDeadLettered");
      // Nothing has been dead-lettered yet: the alert is not there before the failure.
      expect(await deadLetterAlert()).toBeUndefined();

      const failing = await failJobsDuringWorkerKill();
      const started = Date.now();
      await expect
        .poll(async () => (await deadLetterAlert())?.state, { timeout: 60_000, interval: 250 })
        .toBe("firing");
      const firedAfter = Date.now() - started;
      expect((await deadLetterAlert())?.labels.namespace).toBe(NAMESPACE);
      for (const id of failing) await expect.poll(() => jobStatus(id), { timeout: 30_000 }).toBe("failed");

      // No more dead letters: once the (scaled) 10-minute window has passed, the alert resolves.
      await expect.poll(deadLetterAlert, { timeout: 60_000, interval: 500 }).toBeUndefined();
      const resolvedAfter = Date.now() - started;
      console.log(
        `observability: TaskJobsDeadLettered fired ${(firedAfter / 1000).toFixed(1)} s after the failing jobs ` +
          `(worker killed just before), resolved ${(resolvedAfter / 1000).toFixed(1)} s after them ` +
          `(rule durations x${TIME_SCALE.toFixed(4)}: its 10m window is ${600 * TIME_SCALE} s)`,
      );
      expect(svc.crashes()).toBe(0);
    } finally {
      await vmalert.stop();
    }
  }, 180_000);

  test.skipIf(alertmanagerMissing)(
    "the dead-letter alert reaches the site's receiver through the tree's Alertmanager, firing with its runbook and then resolved",
    async () => {
      const sink = await startWebhookSink();
      const config = parseAmConfig(treeVmAlertmanager().spec.configRawYaml);
      // The tree's routing with its timings scaled as the rules are; the test's webhook in place of the site's URL.
      const am = await startAlertmanager(scaleRouteTimings(config, TIME_SCALE), receiversAt(config, sink.url));
      const vmalert = await startVmalert(appRules(), victoria, 1, am.url);
      try {
        const notifications = (status: "firing" | "resolved") =>
          sink.received.filter(
            (m) =>
              m.path === "/site" &&
              m.message.groupLabels.alertname === "TaskJobsDeadLettered" &&
              m.message.status === status,
          );
        expect(notifications("firing")).toEqual([]);
        const killedAt = Date.now();
        const failing = await failJobsDuringWorkerKill();
        await expect.poll(() => notifications("firing").length, { timeout: 60_000, interval: 250 }).toBeGreaterThan(0);
        const [firing] = notifications("firing");
        const { message } = firing as NonNullable<typeof firing>;
        // One notification per alert name and namespace (the route's group_by), the rule's runbook in it.
        expect(message.receiver).toBe("site");
        expect(message.groupLabels).toEqual({ alertname: "TaskJobsDeadLettered", namespace: NAMESPACE });
        expect(message.commonLabels.severity).toBe("warning");
        expect(message.commonAnnotations.runbook).toMatch(/^Jobs were dead-lettered: .*replay/);
        for (const id of failing) await expect.poll(() => jobStatus(id), { timeout: 30_000 }).toBe("failed");

        await expect
          .poll(() => notifications("resolved").length, { timeout: 90_000, interval: 250 })
          .toBeGreaterThan(0);
        const resolved = notifications("resolved")[0] as NonNullable<typeof firing>;
        expect(resolved.message.groupLabels).toEqual(message.groupLabels);
        expect(resolved.message.alerts.every((a) => a.status === "resolved")).toBe(true);
        console.log(
          `observability: TaskJobsDeadLettered delivered to the site's webhook ${(((firing?.at ?? 0) - killedAt) / 1000).toFixed(1)} s ` +
            `after the worker kill, its resolution ${((resolved.at - killedAt) / 1000).toFixed(1)} s after it ` +
            `(rule and route timings x${TIME_SCALE.toFixed(4)})`,
        );
        expect(svc.crashes()).toBe(0);
      } finally {
        await vmalert.stop();
        await am.stop();
        await sink.stop();
      }
    },
    180_000,
  );

  test.skipIf(collectorMissing)(
    "one job is one trace across gateway → NATS → worker → PostgreSQL through the OpenTelemetry Collector, and its id is in both services' logs",
    async () => {
      const c = collector as Otelcol;
      // The app to itself: the gateway batches the inserts, the worker the claims and completions of jobs handled
      // together, each batch in one of their traces. So the trickle parks first (none of its submissions in flight)
      // and its last job is over before this one is sent.
      let resume = () => {};
      let parked = false;
      paused = {
        resume: () => resume(),
        idle: new Promise<void>((r) => (resume = r)),
        park: () => {
          parked = true;
        },
      };
      try {
        await vi.waitFor(
          () => {
            if (!parked) throw new Error("the trickle has not parked");
          },
          { timeout: 10_000, interval: 50 },
        );
        const last = lastTrickled;
        if (last) await expect.poll(() => jobStatus(last), { timeout: 30_000 }).toMatch(/^(succeeded|failed)$/);
        // The client starts the trace (as a traced caller would), so its id is known before any span is exported.
        const traceId = randomBytes(16).toString("hex");
        const clientSpanId = randomBytes(8).toString("hex");
        const id = await submit(
          { type: "hash", payload: { data: "one trace", rounds: 1 } },
          { traceparent: `00-${traceId}-${clientSpanId}-01` },
        );
        await expect.poll(() => jobStatus(id), { timeout: 30_000 }).toBe("succeeded");
        const names = (spans: OtlpSpan[]) => spans.map((s) => `${s.service}: ${s.name}`);
        // Spans arrive in batches: wait for the worker's last (its finishing statement: a hash job is not claimed).
        const spans = await vi.waitFor(
          () => {
            const t = c.trace(traceId);
            const got = names(t);
            const want = ["task-gateway: POST /v1/jobs", "task-worker: process job", "task-worker: run hash"];
            if (!want.every((w) => got.includes(w)) || !got.some((n) => n.startsWith("task-worker: UPSERT")))
              throw new Error(`trace ${traceId} so far: ${got.join(", ") || "no span"}`);
            return t;
          },
          { timeout: 30_000, interval: 250 },
        );
        expect(c.problems).toEqual([]);
        const byId = new Map(spans.map((s) => [s.spanId, s]));
        // One trace, parent links intact: the gateway's request span is the client's child, and every other span's
        // parent is a span of this trace.
        const roots = spans.filter((s) => !byId.has(s.parentSpanId));
        expect(names(roots)).toEqual(["task-gateway: POST /v1/jobs"]);
        expect(roots[0]?.parentSpanId).toBe(clientSpanId);
        // NATS: the worker's consumer span is a child of a gateway span, through the message's headers.
        const consumer = spans.find((s) => s.name === "process job") as OtlpSpan;
        expect(consumer.service).toBe("task-worker");
        expect(consumer.attributes["messaging.system"]).toBe("nats");
        expect(byId.get(consumer.parentSpanId)?.service).toBe("task-gateway");
        // PostgreSQL from both sides: the gateway records the job, the worker finishes it.
        const dbServices = new Set(
          spans.filter((s) => s.attributes["db.system"] === "postgresql").map((s) => s.service),
        );
        expect([...dbServices].sort()).toEqual(["task-gateway", "task-worker"]);
        // The spans the collector received are the trace's only: no other trace id slipped in under this one.
        expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));

        // The logs carry the same id: what Loki's trace_id field links to Tempo.
        const logged = (service: string, msg: string) =>
          logs.some(
            (l) => l.service === service && l.line.msg === msg && l.line.job_id === id && l.line.trace_id === traceId,
          );
        await expect.poll(() => logged("gateway", "job accepted"), { timeout: 10_000 }).toBe(true);
        await expect.poll(() => logged("worker", "job succeeded"), { timeout: 10_000 }).toBe(true);
        console.log(
          `observability: job ${id} is trace ${traceId}, ${spans.length} spans through the OpenTelemetry Collector: ${names(spans).join(", ")}`,
        );
      } finally {
        const p = paused;
        paused = undefined;
        p?.resume();
      }
    },
    90_000,
  );

  test.skipIf(browserMissing)(
    "the app's dashboards drawn from the run's data, every panel with a line",
    async () => {
      const dashboards = treeDashboards().filter((d) => APP_DASHBOARDS.includes(String(d.doc.uid)));
      const browser = await launchChromium();
      try {
        if (imagesDir) mkdirSync(imagesDir, { recursive: true });
        for (const { doc } of dashboards) {
          const panels = (doc.panels ?? []).filter((p) => p.type !== "row");
          // Drawn again until every panel has a line (two points or more): early in the run a rate has one.
          let drawn: Awaited<ReturnType<typeof dashboardPng>> | undefined;
          const blank = async () => {
            const range: [number, number] = [loadStarted, Math.ceil(Date.now() / 1000)];
            const caption = `${range[1] - range[0]} s of the observability proof (VictoriaMetrics, 1 s scrapes)`;
            drawn = await dashboardPng(browser, doc, victoria, GRAFANA, range, 1, caption);
            const { data } = drawn;
            return panels
              .filter((p) => !data.get(Number(p.id))?.some((series) => series.points.length > 1))
              .map((p) => p.title);
          };
          await expect
            .poll(blank, { timeout: 60_000, interval: 1_000, message: `${String(doc.uid)}: panels with no line` })
            .toEqual([]);
          const png = drawn?.png ?? Buffer.alloc(0);
          expect(png.subarray(0, 8).toString("hex"), "a PNG signature").toBe("89504e470d0a1a0a");
          if (imagesDir) writeFileSync(join(resolve(imagesDir), `${String(doc.uid)}.png`), png);
        }
        console.log(
          `observability: ${dashboards.length} dashboards drawn from the run's data${imagesDir ? ` into ${imagesDir}` : ""}`,
        );
      } finally {
        await browser.close();
      }
    },
    120_000,
  );
});
