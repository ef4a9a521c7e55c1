import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";

// RFC 9457 problem details: every error any service answers has the same machine-readable shape.

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [ext: string]: unknown;
}

export class HttpProblem extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail ?? problem.title);
  }
}

export const problem = (status: number, title: string, detail?: string, ext: Record<string, unknown> = {}) =>
  new HttpProblem({ type: "about:blank", title, status, ...(detail ? { detail } : {}), ...ext });

export const unavailable = (what: string, retryAfterSec: number, cause?: string) =>
  new HttpProblem(
    {
      type: "about:blank",
      title: "Service Unavailable",
      status: 503,
      detail: `${what} is unavailable right now; nothing was stored, retry later${cause ? ` (${cause})` : ""}`,
    },
    { "retry-after": String(retryAfterSec) },
  );

export function sendProblem(reply: FastifyReply, p: Problem, headers: Record<string, string> = {}): FastifyReply {
  return reply
    .code(p.status)
    .headers(headers)
    .type("application/problem+json")
    .send({ ...p, instance: p.instance ?? reply.request.url });
}

/** Fastify's own client errors (bad JSON, body too large, wrong media type) mapped to problems. */
const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, "Malformed JSON"],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, "Empty JSON body"],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, "Content Too Large"],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, "Unsupported Media Type"],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, "Invalid Content-Length"],
  FST_ERR_VALIDATION: [400, "Invalid request"],
};

export function installProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, {
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: `no route ${req.method} ${req.url}`,
    }),
  );
  app.setErrorHandler((err: FastifyError | HttpProblem, req, reply) => {
    if (err instanceof HttpProblem) {
      if (err.problem.status >= 500) req.log.warn({ problem: err.problem }, "answered with a server problem");
      return sendProblem(reply, err.problem, err.headers);
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known)
      return sendProblem(reply, { type: "about:blank", title: known[1], status: known[0], detail: err.message });
    if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
      return sendProblem(reply, {
        type: "about:blank",
        title: err.name || "Bad Request",
        status: err.statusCode,
        detail: err.message,
      });
    }
    req.log.error({ err }, "unhandled error");
    return sendProblem(reply, {
      type: "about:blank",
      title: "Internal Server Error",
      status: 500,
      detail: "unexpected error; see server logs",
    });
  });
}
