import { createServer, type IncomingMessage } from "node:http";
import { initTracing, withSpan } from "@ktsw/task-shared/tracing";
import { describe, expect, test } from "vitest";

// With OTEL_EXPORTER_OTLP_ENDPOINT set, spans leave the process over OTLP/HTTP (what Tempo or an
// OpenTelemetry Collector receives). A local HTTP endpoint stands in for the collector and reads
// what really arrives on the wire.

describe("OTLP export", () => {
  test("a finished span is POSTed to <endpoint>/v1/traces with its name, trace id and the service's name (OTEL_SERVICE_NAME)", async () => {
    const received: { url: string; type: string; body: string }[] = [];
    const collector = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        received.push({ url: req.url ?? "", type: String(req.headers["content-type"]), body });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
    const port = (collector.address() as { port: number }).port;
    // What each service's start-up sets from SERVICE_NAME before it starts tracing.
    const serviceName = process.env.OTEL_SERVICE_NAME;
    process.env.OTEL_SERVICE_NAME = "task-otlp-test";
    try {
      const provider = initTracing({ otlpEndpoint: `http://127.0.0.1:${port}` });
      const traceId = await withSpan(
        "task-test",
        "exported span",
        { "job.type": "hash" },
        async (span) => span.spanContext().traceId,
      );
      await provider.forceFlush();
      expect(received).toHaveLength(1);
      expect(received[0]?.url).toBe("/v1/traces");
      expect(received[0]?.type).toMatch(/application\/(json|x-protobuf)/);
      if (received[0]?.type.includes("json")) {
        const body = JSON.parse(received[0].body);
        const span = body.resourceSpans[0].scopeSpans[0].spans[0];
        expect(span.name).toBe("exported span");
        expect(span.traceId).toBe(traceId);
        // The resource names the service: a trace store shows which service each span came from.
        expect(body.resourceSpans[0].resource.attributes).toContainEqual({
          key: "service.name",
          value: { stringValue: "task-otlp-test" },
        });
      } else {
        expect(received[0]?.body).toContain("exported span");
        expect(received[0]?.body).toContain("task-otlp-test");
      }
      await provider.shutdown();
    } finally {
      if (serviceName === undefined) delete process.env.OTEL_SERVICE_NAME;
      else process.env.OTEL_SERVICE_NAME = serviceName;
      collector.close();
    }
  });
});
