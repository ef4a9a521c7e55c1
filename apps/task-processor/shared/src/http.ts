import { context, propagation, ROOT_CONTEXT } from "@opentelemetry/api";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import type { Logger } from "./logger.ts";
import { installProblemHandlers } from "./problem.ts";
import { SpanKind, withSpan } from "./tracing.ts";

export function createHttpApp(logger: Logger, bodyLimit = 64 * 1024): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit,
    // Behind Traefik and Linkerd; the request id comes from the trace, not a counter.
    trustProxy: true,
  });
  installProblemHandlers(app as unknown as FastifyInstance);
  return app as unknown as FastifyInstance;
}

/** Runs a handler inside a SERVER span continuing the caller's W3C trace context, if any. */
export function traced<T>(tracerName: string, req: FastifyRequest, fn: () => Promise<T>): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, req.headers, {
    get: (h, k) => {
      const v = h[k];
      return Array.isArray(v) ? v[0] : v;
    },
    keys: (h) => Object.keys(h),
  });
  const route = req.routeOptions.url ?? req.url;
  return context.with(parent, () =>
    withSpan(
      tracerName,
      `${req.method} ${route}`,
      { "http.request.method": req.method, "http.route": route },
      fn,
      SpanKind.SERVER,
    ),
  );
}
