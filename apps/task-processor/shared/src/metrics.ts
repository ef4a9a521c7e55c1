import Fastify, { type FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type { Registry };

// One registry per service instance (tests run several services in one process).

export interface HttpMetrics {
  registry: Registry;
}

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * RED metrics per route (rate, errors via status label, duration). `/metrics` itself is not on this
 * app: `metricsServer` serves it on the internal metrics port.
 */
export function installHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by route, method and status code",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by route, method and status code",
    labelNames: ["route", "method", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook("onResponse", async (req, reply) => {
    // The route pattern, not the raw URL: job ids must not explode label cardinality.
    const route = req.routeOptions.url ?? "unmatched";
    const labels = { route, method: req.method, status: String(reply.statusCode) };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });
}

/**
 * `/metrics` on a listener of its own (METRICS_PORT): the public port never serves it, whatever an
 * ingress routes there, and a NetworkPolicy can open it to the scraper alone.
 */
export function metricsServer(registry: Registry): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get("/metrics", async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  return app as unknown as FastifyInstance;
}

export function jobMetrics(registry: Registry) {
  return {
    processed: new Counter({
      name: "jobs_processed_total",
      help: "Job deliveries handled by the worker, by type and outcome (succeeded, retried, dead_lettered, skipped_duplicate, poison)",
      labelNames: ["type", "outcome"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "job_processing_seconds",
      help: "Time spent executing a job handler, by type and outcome",
      labelNames: ["type", "outcome"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [registry],
    }),
    submitted: new Counter({
      name: "jobs_submitted_total",
      help: "Jobs accepted by the gateway, by type and whether JetStream deduplicated them",
      labelNames: ["type", "duplicate"],
      registers: [registry],
    }),
  };
}

/** Queue depth gauge read from JetStream consumer info at scrape time. */
export function queueDepthGauge(
  registry: Registry,
  read: () => Promise<{ pending: number; ackPending: number } | undefined>,
) {
  return new Gauge({
    name: "jetstream_consumer_pending_messages",
    help: "JetStream consumer backlog: messages not yet delivered (state=pending) and delivered but unacked (state=ack_pending)",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      const depth = await read().catch(() => undefined);
      if (!depth) return;
      this.set({ state: "pending" }, depth.pending);
      this.set({ state: "ack_pending" }, depth.ackPending);
    },
  });
}

/** The worker's circuit breaker, as operators (and the fault tests) watch it. */
export function breakerMetrics(registry: Registry) {
  return {
    open: new Gauge({
      name: "worker_circuit_breaker_open",
      help: "1 while infrastructure failures keep the worker from fetching jobs (open or half-open), else 0",
      registers: [registry],
    }),
    infraFailures: new Counter({
      name: "worker_infrastructure_failures_total",
      help: "Deliveries handed back because Postgres or NATS failed (never counted against a job's attempts)",
      registers: [registry],
    }),
    probes: new Counter({
      name: "worker_circuit_breaker_probes_total",
      help: "Half-open probes of the dependencies, by outcome",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}

/** What the pool gauges read of a pg Pool (its own counters), so tests can pass a stand-in. */
export interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max?: number };
}

/**
 * The PostgreSQL pool's saturation, read at scrape time: connections open and idle, queries waiting for a
 * connection, and the pool's size. Waiting above zero is the Postgres hop's saturation signal.
 */
export function poolGauges(registry: Registry, pool: PoolCounts) {
  return {
    connections: new Gauge({
      name: "db_pool_connections",
      help: "PostgreSQL pool: connections open (state=total), idle (state=idle), and queries waiting for one (state=waiting)",
      labelNames: ["state"],
      registers: [registry],
      collect() {
        this.set({ state: "total" }, pool.totalCount);
        this.set({ state: "idle" }, pool.idleCount);
        this.set({ state: "waiting" }, pool.waitingCount);
      },
    }),
    max: new Gauge({
      name: "db_pool_max_connections",
      help: "PostgreSQL pool: the most connections it opens (PG_POOL_MAX or the service's own size)",
      registers: [registry],
      collect() {
        this.set(pool.options.max ?? 10);
      },
    }),
  };
}

/** The worker's job slots: deliveries being handled now out of CONCURRENCY (its saturation). */
export function workerSlotGauges(registry: Registry, inFlight: () => number, slots: number) {
  return {
    inFlight: new Gauge({
      name: "worker_jobs_in_flight",
      help: "Deliveries the worker is handling right now",
      registers: [registry],
      collect() {
        this.set(inFlight());
      },
    }),
    slots: new Gauge({
      name: "worker_job_slots",
      help: "Deliveries the worker handles at once at most (CONCURRENCY)",
      registers: [registry],
      collect() {
        this.set(slots);
      },
    }),
  };
}

/** The status service's live WebSockets: open connections (traffic and saturation), and closes by code. */
export function websocketMetrics(registry: Registry, open: () => number) {
  return {
    connections: new Gauge({
      name: "status_websocket_connections",
      help: "WebSocket connections open on this status replica",
      registers: [registry],
      collect() {
        this.set(open());
      },
    }),
    closed: new Counter({
      name: "status_websocket_closed_total",
      help: "WebSocket connections closed, by close code (4401 authentication, 1008 policy, 1001 shutdown, 1000/1005 normal)",
      labelNames: ["code"],
      registers: [registry],
    }),
    pushed: new Counter({
      name: "status_websocket_events_pushed_total",
      help: "Job events and snapshots sent to WebSocket subscribers",
      registers: [registry],
    }),
  };
}

/** The status events a status replica receives: of how many jobs (watched live, or cached while moving), how many. */
export function jobInterestMetrics(registry: Registry, jobs: () => number) {
  return {
    jobs: new Gauge({
      name: "status_job_event_subscriptions",
      help: "Jobs whose status events this status replica is subscribed to (watched live, or cached while still moving)",
      registers: [registry],
      collect() {
        this.set(jobs());
      },
    }),
    received: new Counter({
      name: "status_job_events_received_total",
      help: "Job status events this status replica received (only those of the jobs it is subscribed to)",
      registers: [registry],
    }),
  };
}
