import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort, type RunningServer, startHttpTool } from "../servers.ts";

// Jaeger v2 (an OpenTelemetry Collector distribution, Apache-2.0) as the proof's OTLP receiver: the services export
// their spans to its OTLP/HTTP receiver as they would to Tempo, and its query API gives a whole trace back by id.

/**
 * Jaeger's configuration for the proof (pure): its all-in-one setup cut to what the proof uses, on the given ports
 * instead of the fixed defaults (4318, 16686...): the OTLP/HTTP receiver, in-memory storage, the query API.
 */
export function jaegerConfig(ports: { otlpHttp: number; queryHttp: number; queryGrpc: number }) {
  return {
    service: {
      extensions: ["jaeger_storage", "jaeger_query"],
      pipelines: { traces: { receivers: ["otlp"], processors: ["batch"], exporters: ["jaeger_storage_exporter"] } },
      telemetry: { metrics: { level: "none" }, logs: { level: "warn" } },
    },
    extensions: {
      jaeger_storage: { backends: { memstore: { memory: { max_traces: 10_000 } } } },
      jaeger_query: {
        storage: { traces: "memstore" },
        http: { endpoint: `127.0.0.1:${ports.queryHttp}` },
        grpc: { endpoint: `127.0.0.1:${ports.queryGrpc}` },
      },
    },
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${ports.otlpHttp}` } } } },
    processors: { batch: {} },
    exporters: { jaeger_storage_exporter: { trace_storage: "memstore" } },
  };
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references: { refType: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

export interface Jaeger extends RunningServer {
  /** where the services send their spans (OTEL_EXPORTER_OTLP_ENDPOINT) */
  otlpEndpoint: string;
  /** The trace as Jaeger's query API holds it, or undefined while it has none of it. */
  trace(traceId: string): Promise<JaegerTrace | undefined>;
}

export async function startJaeger(): Promise<Jaeger> {
  const ports = { otlpHttp: await freePort(), queryGrpc: await freePort() };
  // startHttpTool's port is the query API's: ready once it listens.
  const server = await startHttpTool("jaeger", (queryHttp, dir) => {
    const config = join(dir, "jaeger.yaml");
    writeFileSync(config, stringify(jaegerConfig({ ...ports, queryHttp })));
    return [`--config=${config}`];
  });
  return Object.assign(server, {
    otlpEndpoint: `http://127.0.0.1:${ports.otlpHttp}`,
    async trace(traceId: string): Promise<JaegerTrace | undefined> {
      const r = await fetch(`${server.url}/api/traces/${traceId}`);
      if (r.status === 404) return undefined;
      const body = (await r.json()) as { data?: JaegerTrace[] };
      return body.data?.[0];
    },
  });
}
