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
import { ConsoleSpanExporter, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

export { SpanKind };

let provider: NodeTracerProvider | undefined;

/**
 * Registers the process-wide tracer provider (async-local context + W3C trace context). Call once,
 * from a service's main or a test's setup, never at import time. `exporter` defaults to none unless
 * OTEL_TRACES_EXPORTER=console; trace ids are still created and land in every log line.
 */
export function initTracing(opts: { exporter?: SpanExporter } = {}): NodeTracerProvider {
  if (provider) return provider;
  const exporter =
    opts.exporter ?? (process.env.OTEL_TRACES_EXPORTER === "console" ? new ConsoleSpanExporter() : undefined);
  provider = new NodeTracerProvider({ spanProcessors: exporter ? [new SimpleSpanProcessor(exporter)] : [] });
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
