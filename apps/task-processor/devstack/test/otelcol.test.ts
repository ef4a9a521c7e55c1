// The trace proof's collector without running it: the release it is built at is the tree's collector's, every
// collector module of its wrapper is of that one release, and the sink reads OTLP/JSON as the collector writes it.
// The collector itself runs in observability.test.ts.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { simToolVersion } from "@ktsw/cli/tools";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { otelcolConfig, otlpSpans } from "../src/observability/otelcol.ts";

const repo = resolve(import.meta.dirname, "../../../..");

describe("the trace proof's OpenTelemetry Collector", () => {
  test("is the release of the tree's collector image, every collector module of one release", () => {
    const release = simToolVersion("otelcol");
    const hr = parse(
      readFileSync(resolve(repo, "kubernetes/observability/otel-collector/app/helmrelease.yaml"), "utf8"),
    );
    expect(release).toBe(`v${hr.spec.values.image.tag}`);
    // One release is two version lines: the stable modules (v1.x) and the rest (the release's v0.x).
    const goMod = readFileSync(resolve(repo, "deps/sim/otelcol/go.mod"), "utf8");
    const collectorModules = [...goMod.matchAll(/^\s+(go\.opentelemetry\.io\/collector\S*) (v\S+)/gm)].map(
      ([, module, version = ""]) => ({ module, version }),
    );
    expect(collectorModules.length).toBeGreaterThan(10);
    expect(new Set(collectorModules.filter((m) => m.version.startsWith("v0.")).map((m) => m.version))).toEqual(
      new Set([release]),
    );
    expect(new Set(collectorModules.filter((m) => !m.version.startsWith("v0.")).map((m) => m.version)).size).toBe(1);
  });

  test("its config: OTLP/HTTP in on the given port, OTLP/JSON out to the sink, nothing else in the pipeline", () => {
    const c = otelcolConfig(4318, "http://127.0.0.1:9/v1/traces");
    expect(c.receivers.otlp.protocols.http.endpoint).toBe("127.0.0.1:4318");
    expect(c.exporters.otlp_http).toEqual({ traces_endpoint: "http://127.0.0.1:9/v1/traces", encoding: "json" });
    expect(c.service.pipelines).toEqual({ traces: { receivers: ["otlp"], exporters: ["otlp_http"] } });
  });

  test("an OTLP/JSON export flattens to spans with their service, parent and typed attributes", () => {
    const spans = otlpSpans({
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "task-worker" } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: "5b8efff798038103d269b633813fc60c",
                  spanId: "eee19b7ec3c1b174",
                  parentSpanId: "eee19b7ec3c1b173",
                  name: "process job",
                  kind: 5,
                  attributes: [
                    { key: "messaging.system", value: { stringValue: "nats" } },
                    { key: "messaging.message.body.size", value: { intValue: "42" } },
                    { key: "retry", value: { boolValue: false } },
                  ],
                },
                { traceId: "5b8efff798038103d269b633813fc60c", spanId: "eee19b7ec3c1b175", name: "run hash" },
              ],
            },
          ],
        },
        { scopeSpans: [{ spans: [{ traceId: "00", spanId: "01", name: "anonymous" }] }] },
      ],
    });
    expect(spans).toEqual([
      {
        traceId: "5b8efff798038103d269b633813fc60c",
        spanId: "eee19b7ec3c1b174",
        parentSpanId: "eee19b7ec3c1b173",
        name: "process job",
        kind: 5,
        service: "task-worker",
        attributes: { "messaging.system": "nats", "messaging.message.body.size": 42, retry: false },
      },
      {
        traceId: "5b8efff798038103d269b633813fc60c",
        spanId: "eee19b7ec3c1b175",
        parentSpanId: "",
        name: "run hash",
        kind: 0,
        service: "task-worker",
        attributes: {},
      },
      { traceId: "00", spanId: "01", parentSpanId: "", name: "anonymous", kind: 0, service: undefined, attributes: {} },
    ]);
  });
});
