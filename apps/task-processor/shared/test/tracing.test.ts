import { Writable } from "node:stream";
import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { initTracing } from "@ktsw/task-shared/tracing";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { describe, expect, test, vi } from "vitest";

// One trace from the HTTP request through the NATS message headers into the worker and its
// Postgres statements, collected by the SDK's in-memory exporter; and the same trace_id in the logs.

const exporter = new InMemorySpanExporter();
initTracing({ exporter });
const logLines: Record<string, unknown>[] = [];
const logSink = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
    done();
  },
});

describe.skipIf(skipReason)("distributed tracing", () => {
  const s = useStack({ logLevel: "info", logDestination: logSink });

  test("gateway → NATS headers → worker → Postgres spans share one trace", async () => {
    const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await s.submit(
      { type: "hash", payload: { data: "trace me", rounds: 2 } },
      { headers: { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` } },
    );
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await s.waitForStatus(id, "succeeded");
    // The job reads as succeeded once its result is committed; the worker's consumer span ends a
    // moment later, after the ack. Wait for that span rather than a fixed pause.
    const spans = await vi.waitFor(
      () => {
        const mine = exporter.getFinishedSpans().filter((sp) => sp.spanContext().traceId === callerTrace);
        if (!mine.some((sp) => sp.name === "process job")) throw new Error("the worker's span has not ended yet");
        return mine;
      },
      { timeout: 10_000, interval: 20 },
    );
    const by = (name: string, scope: string) =>
      spans.find((sp) => sp.name === name && sp.instrumentationScope.name === scope) as ReadableSpan;
    const server = by("POST /v1/jobs", "task-gateway");
    const insert = by("INSERT jobs", "task-gateway");
    const consume = by("process job", "task-worker");
    const run = by("run hash", "task-worker");
    // A hash job runs without a claim: one statement writes the effect and marks the job succeeded.
    const result = by("UPSERT jobs", "task-worker");
    for (const sp of [server, insert, consume, run, result]) expect(sp).toBeDefined();
    // The parent chain: caller → gateway server span → (message) → worker consumer span → db spans.
    expect(server.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
    expect(insert.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(consume.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(run.parentSpanContext?.spanId).toBe(consume.spanContext().spanId);
    expect(result.parentSpanContext?.spanId).toBe(consume.spanContext().spanId);
    expect(result.attributes["db.system"]).toBe("postgresql");
    expect(String(result.attributes["db.statement"])).toMatch(/INSERT INTO job_results/);

    const traced = logLines.filter((l) => l.trace_id === callerTrace);
    expect(traced.map((l) => l.service)).toEqual(expect.arrayContaining(["task-gateway", "task-worker"]));
    expect(traced.some((l) => l.msg === "job succeeded" && l.job_id === id)).toBe(true);
  });
});
