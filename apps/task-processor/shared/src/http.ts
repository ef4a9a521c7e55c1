import { context, propagation, ROOT_CONTEXT } from "@opentelemetry/api";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import type { Logger } from "./logger.ts";
import { installProblemHandlers } from "./problem.ts";
import { SpanKind, withSpan } from "./tracing.ts";

/**
 * A Fastify app with problem documents for every error. `requestTimeoutMs` bounds how long a
 * client may take to send a whole request (Fastify's default is no limit: one byte a minute would
 * hold a connection for ever); Node checks it every second and answers 408.
 */
export function createHttpApp(logger: Logger, bodyLimit = 64 * 1024, requestTimeoutMs = 30_000): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit,
    requestTimeout: requestTimeoutMs,
    // Node enforces the request timeout only once the headers timeout (60 s) is not longer.
    http: {
      connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs),
      headersTimeout: Math.min(60_000, requestTimeoutMs),
    },
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
