import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { requireSimTool } from "@ktsw/cli/tools";
import { stringify } from "yaml";
import { type RunningServer, startHttpTool } from "../servers.ts";

// The trace proof's OTLP receiver: a minimal OpenTelemetry Collector (deps/sim/otelcol, Apache-2.0). The services
// export their spans to its OTLP/HTTP receiver as they would to Tempo's; its OTLP/HTTP exporter hands every span on,
// as OTLP/JSON, to a sink in this process, where the test reads whole traces back by id.

/** Why the collector cannot run here (not built), or undefined. */
export function otelcolMissing(): string | undefined {
  try {
    requireSimTool("otelcol");
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The collector's configuration for the proof (pure): OTLP/HTTP in on the given port, OTLP/HTTP out as JSON to the
 * sink's traces URL, nothing in between. Its own telemetry stays quiet: no metrics server, warnings only.
 */
export function otelcolConfig(otlpHttpPort: number, sinkTracesUrl: string) {
  return {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${otlpHttpPort}` } } } },
    // `otlp_http` is the exporter's type since 0.158.0 (`otlphttp` is its deprecated alias).
    exporters: { otlp_http: { traces_endpoint: sinkTracesUrl, encoding: "json" } },
    service: {
      pipelines: { traces: { receivers: ["otlp"], exporters: ["otlp_http"] } },
      telemetry: { metrics: { level: "none" }, logs: { level: "warn" } },
    },
  };
}

/** One span as the sink received it: OTLP/JSON flattened, its resource's service.name beside it. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  /** empty for a span whose parent is nobody's */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer */
  kind: number;
  service: string | undefined;
  attributes: Record<string, unknown>;
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
/** The parts of an OTLP/JSON ExportTraceServiceRequest the proof reads. */
export interface ExportTraceRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        attributes?: KeyValue[];
      }[];
    }[];
  }[];
}

/** An OTLP/JSON value as JavaScript (64-bit integers travel as strings in OTLP/JSON). */
function anyValue(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  return v;
}

const attributesOf = (kvs: KeyValue[] = []) => Object.fromEntries(kvs.map((kv) => [kv.key, anyValue(kv.value)]));

/** The spans of one OTLP/JSON export request, flattened (pure). */
export function otlpSpans(request: ExportTraceRequest): OtlpSpan[] {
  return (request.resourceSpans ?? []).flatMap((rs) => {
    const service = attributesOf(rs.resource?.attributes)["service.name"];
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? "",
        name: s.name,
        kind: s.kind ?? 0,
        service: typeof service === "string" ? service : undefined,
        attributes: attributesOf(s.attributes),
      })),
    );
  });
}

/** An HTTP server taking OTLP/JSON trace exports (as the collector's exporter sends them: gzip by default). */
async function startSink(): Promise<{ url: string; spans: OtlpSpan[]; problems: string[]; stop(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const problems: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        if (req.method !== "POST" || req.url !== "/v1/traces") throw new Error(`unexpected ${req.method} ${req.url}`);
        if (!String(req.headers["content-type"]).startsWith("application/json"))
          throw new Error(`not OTLP/JSON: content-type ${req.headers["content-type"]}`);
        const raw = Buffer.concat(chunks);
        const body = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
        spans.push(...otlpSpans(JSON.parse(body.toString("utf8")) as ExportTraceRequest));
        // An empty 200 is a full success to the exporter (no partial-success body to parse).
        res.writeHead(200).end();
      } catch (e) {
        // Kept for the test to fail on, and refused so the collector's log says so too.
        problems.push(String(e));
        res.writeHead(400).end(String(e));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    problems,
    stop: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

export interface Otelcol extends RunningServer {
  /** where the services send their spans (OTEL_EXPORTER_OTLP_ENDPOINT) */
  otlpEndpoint: string;
  /** Every span of this trace the collector has handed on so far (none yet: empty). */
  trace(traceId: string): OtlpSpan[];
  /** Exports the sink could not read: each one also a span lost. */
  problems: string[];
}

export async function startOtelcol(): Promise<Otelcol> {
  const sink = await startSink();
  try {
    // startHttpTool's port is the OTLP/HTTP receiver's: ready once it listens, after the pipeline has started.
    const server = await startHttpTool("otelcol", (port, dir) => {
      const config = join(dir, "otelcol.yaml");
      writeFileSync(config, stringify(otelcolConfig(port, sink.url)));
      return [`--config=${config}`];
    });
    const stopCollector = server.stop;
    return Object.assign(server, {
      otlpEndpoint: server.url,
      trace: (traceId: string) => sink.spans.filter((s) => s.traceId === traceId),
      problems: sink.problems,
      stop: async () => {
        try {
          await stopCollector();
        } finally {
          await sink.stop();
        }
      },
    });
  } catch (e) {
    await sink.stop();
    throw e;
  }
}
