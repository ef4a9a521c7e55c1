import { Registry } from "prom-client";
import { describe, expect, test } from "vitest";
import { poolGauges, websocketMetrics, workerSlotGauges } from "../src/metrics.ts";

// The saturation gauges the Golden-Signals dashboards read: each is read at scrape time from the live object,
// so a scrape shows the pool, the worker's slots and the open WebSockets as they are at that moment.

const sample = async (registry: Registry, name: string, labels: Record<string, string> = {}) => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value;
};

describe("saturation gauges", () => {
  test("the PostgreSQL pool's open, idle and waiting connections and its size are read at scrape time", async () => {
    const registry = new Registry();
    const pool = { totalCount: 3, idleCount: 1, waitingCount: 0, options: { max: 5 } };
    poolGauges(registry, pool);
    pool.waitingCount = 4;
    expect(await sample(registry, "db_pool_connections", { state: "total" })).toBe(3);
    expect(await sample(registry, "db_pool_connections", { state: "idle" })).toBe(1);
    expect(await sample(registry, "db_pool_connections", { state: "waiting" })).toBe(4);
    expect(await sample(registry, "db_pool_max_connections")).toBe(5);
  });

  test("the worker's deliveries in flight and its slots", async () => {
    const registry = new Registry();
    let inFlight = 2;
    workerSlotGauges(registry, () => inFlight, 32);
    inFlight = 7;
    expect(await sample(registry, "worker_jobs_in_flight")).toBe(7);
    expect(await sample(registry, "worker_job_slots")).toBe(32);
  });

  test("open WebSockets are read at scrape time; closes are counted by code", async () => {
    const registry = new Registry();
    let open = 0;
    const ws = websocketMetrics(registry, () => open);
    open = 2;
    ws.closed.inc({ code: "4401" });
    ws.pushed.inc();
    expect(await sample(registry, "status_websocket_connections")).toBe(2);
    expect(await sample(registry, "status_websocket_closed_total", { code: "4401" })).toBe(1);
    expect(await sample(registry, "status_websocket_events_pushed_total")).toBe(1);
  });
});
