import type { FastifyInstance } from "fastify";

export type Check = () => Promise<unknown>;

/**
 * `/healthz`: the process answers (liveness; never checks dependencies, so an outage of Postgres
 * does not restart every pod). `/readyz`: each dependency really answers, within a deadline.
 */
export function installHealth(app: FastifyInstance, checks: Record<string, Check>, isShuttingDown = () => false): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const results: Record<string, string> = {};
    let ok = !isShuttingDown();
    if (!ok) results.shutdown = "in progress";
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2_000);
          results[name] = "ok";
        } catch (err) {
          ok = false;
          results[name] = (err as Error).message || "failed";
        }
      }),
    );
    return reply.code(ok ? 200 : 503).send({ status: ok ? "ready" : "not ready", checks: results });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
