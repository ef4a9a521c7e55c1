import { whyMissing } from "@ktsw/cli/tools";
import { createPool, migrate, type Pool } from "@ktsw/task-shared/db";
import { initTracing } from "@ktsw/task-shared/tracing";
import { afterAll, beforeAll, expect, vi } from "vitest";
import { type RunningServer, startPostgres } from "./servers.ts";
import { type Infra, infraUrls, type ServiceOptions, type Services, startInfra, startServices } from "./stack.ts";
import type { IssueOptions } from "./token-issuer.ts";

// Test helpers: a whole stack per test file, started on free ports in temp dirs and always stopped.

/** Why the real-server suites cannot run here (the first missing program and its install step), or undefined. */
export function missingPrerequisite(): string | undefined {
  // setpriv ties each server to the test process and drops root for initdb/postgres.
  return whyMissing(["nats-server", "redis-server", "setpriv", "initdb", "postgres", "pg_isready"]);
}

export const skipReason = missingPrerequisite();
if (skipReason) console.warn(`\n!!! task-processor real-server tests SKIPPED: ${skipReason}\n`);

export interface DatabaseHandle {
  server: RunningServer;
  /** `poolSize` connections to the migrated database */
  pool: Pool;
}

/** A PostgreSQL of the calling describe block's own, migrated, with a pool; always stopped. */
export function useMigratedPostgres(poolSize: number): DatabaseHandle {
  const h = {} as DatabaseHandle;
  beforeAll(async () => {
    if (skipReason) return;
    h.server = await startPostgres();
    h.pool = createPool(h.server.url, poolSize);
    await migrate(h.pool);
  });
  afterAll(async () => {
    await h.pool?.end();
    await h.server?.stop();
  });
  return h;
}

export interface StackHandle {
  infra: Infra;
  svc: Services;
  token(o?: IssueOptions): Promise<string>;
  submit(body: unknown, opts?: { token?: string; headers?: Record<string, string> }): Promise<Response>;
  getJob(id: string, token?: string): Promise<Response>;
  /** Runs `request` and asserts it stored no job row and queued no message (what a rejection must leave). */
  storesNothing<T>(request: () => Promise<T>): Promise<T>;
  /**
   * Polls the status API until the job reaches `status` (or fails the test after `timeoutMs`),
   * reading as `token` (default: the default token's subject, whose jobs those are).
   */
  waitForStatus(
    id: string,
    status: string | string[],
    timeoutMs?: number,
    token?: string,
  ): Promise<Record<string, unknown>>;
}

export function useStack(opts: ServiceOptions = {}): StackHandle {
  const h = {} as StackHandle;
  beforeAll(async () => {
    if (skipReason) return;
    // As every service's main does: real spans, so trace ids travel in NATS headers and logs.
    initTracing();
    h.infra = await startInfra();
    try {
      h.svc = await startServices(infraUrls(h.infra), opts);
    } catch (err) {
      await h.infra.stop();
      throw err;
    }
    h.token = (o) => h.infra.issuer.issue(o);
    h.submit = async (body, o = {}) =>
      fetch(`${h.svc.gatewayUrl}/v1/jobs`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${o.token ?? (await h.token())}`,
          ...o.headers,
        },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
    h.getJob = async (id, token) =>
      fetch(`${h.svc.statusUrl}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${token ?? (await h.token())}` } });
    h.storesNothing = async (request) => {
      const footprint = async () => ({
        rows: (await h.svc.pool.query("SELECT count(*)::int AS n FROM jobs")).rows[0].n as number,
        queued: (await h.svc.nats.jsm.streams.info("JOBS")).state.last_seq,
      });
      const before = await footprint();
      const out = await request();
      expect(await footprint(), "a rejected request left a job row or a queued message").toEqual(before);
      return out;
    };
    h.waitForStatus = async (id, status, timeoutMs = 20_000, token) => {
      const want = Array.isArray(status) ? status : [status];
      let last: Record<string, unknown> = {};
      return vi.waitFor(
        async () => {
          const r = await h.getJob(id, token);
          if (r.status === 200) last = (await r.json()) as Record<string, unknown>;
          if (!want.includes(last.status as string))
            throw new Error(`job ${id} did not reach ${want.join("|")}; last seen ${JSON.stringify(last)}`);
          return last;
        },
        { timeout: timeoutMs, interval: 100 },
      );
    };
  });
  afterAll(async () => {
    await h.svc?.stop();
    await h.infra?.stop();
  });
  return h;
}
