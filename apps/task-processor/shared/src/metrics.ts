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
