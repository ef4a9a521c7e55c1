import {
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, detectResources, envDetector } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

export { SpanKind };

let provider: NodeTracerProvider | undefined;

/**
 * Registers the process-wide tracer provider (async-local context + W3C trace context). Call once,
 * from a service's main or a test's setup, never at import time. Where spans go:
 * - `exporter` (tests: the SDK's InMemorySpanExporter), exported span by span;
 * - else OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://tempo.observability:4318): OTLP/HTTP, batched;
 * - else OTEL_TRACES_EXPORTER=console: printed;
 * - else nowhere, but trace ids are still created, propagated, and written in every log line.
 * The service name comes from OTEL_SERVICE_NAME (each main sets it from SERVICE_NAME), other resource attributes
 * from OTEL_RESOURCE_ATTRIBUTES.
 */
export function initTracing(opts: { exporter?: SpanExporter; otlpEndpoint?: string } = {}): NodeTracerProvider {
  if (provider) return provider;
  const otlp = opts.otlpEndpoint ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const processors: SpanProcessor[] = [];
  if (opts.exporter) processors.push(new SimpleSpanProcessor(opts.exporter));
  else if (otlp)
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlp.replace(/\/$/, "")}/v1/traces` })));
  else if (process.env.OTEL_TRACES_EXPORTER === "console")
    processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  // The SDK's tracer provider reads no environment for its resource (only the Node SDK package does): without this,
  // every span's service is `unknown_service:node` and a trace store cannot tell gateway from worker.
  const resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  provider = new NodeTracerProvider({ resource, spanProcessors: processors });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return provider;
}

export const tracer = (name: string) => trace.getTracer(name);

/** Runs `fn` inside a new active span, recording errors and always ending the span. */
export async function withSpan<T>(
  tracerName: string,
  name: string,
  attrs: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer(tracerName).startActiveSpan(name, { kind, attributes: attrs }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Header carrier both for NATS `MsgHdrs` and plain maps. */
interface HeaderCarrier {
  get(k: string): string;
  set(k: string, v: string): void;
  keys(): string[];
}
const setter: TextMapSetter<HeaderCarrier> = { set: (c, k, v) => c.set(k, v) };
const getter: TextMapGetter<HeaderCarrier | undefined> = {
  get: (c, k) => c?.get(k) || undefined,
  keys: (c) => c?.keys() ?? [],
};

/** Writes the active trace context (traceparent) into NATS headers. */
export const injectTrace = (headers: HeaderCarrier): void => propagation.inject(context.active(), headers, setter);

/** Reads a trace context from NATS headers; a message without one starts a new trace. */
export const extractTrace = (headers: HeaderCarrier | undefined) => propagation.extract(ROOT_CONTEXT, headers, getter);

export const currentTraceId = (): string | undefined => trace.getActiveSpan()?.spanContext().traceId;
