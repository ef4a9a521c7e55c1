import { randomUUID } from "node:crypto";
import { createPool, migrate, type Pool } from "@ktsw/task-shared/db";
import { CLEAN_WIRE, type FaultPlan, type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { mainOf, type Supervised, sleep, supervise, waitReady } from "./processes.ts";
import { requireSynchronousStandby } from "./replication.ts";
import { freePort, type RunningServer, startPostgresReplica } from "./servers.ts";
import { type Infra, infraUrls, type ServiceUrls, serviceEnv, startInfra } from "./stack.ts";

// The fault suite: the gateway and two workers run as real processes under a supervisor that
// restarts them like Kubernetes would, a client submits jobs (retrying 503s and dropped
// connections with the same idempotency key), and a fault is injected while they flow. Afterwards
// every accepted job must be terminal, with exactly one effect, executed once, none left queued,
// and no process may have crashed. `npm run chaos:local` runs it at full size; a short version
// runs in `npm test`.

export interface ChaosSettings {
  /** jobs the client submits per experiment */
  jobs: number;
  /** how long an outage lasts (PostgreSQL down, Redis down, the network's faults) */
  outageMs: number;
  /** how long a dead primary goes unnoticed before its replica is promoted */
  failoverMs: number;
  /** how long a killed worker stays down before its supervisor starts it again */
  restartDelayMs: number;
  /** requests the client keeps in flight */
  clientConcurrency: number;
  /** how long every accepted job has to become terminal once the client is done */
  settleMs: number;
  /** environment for the services (worker knobs such as ACK_WAIT_MS) */
  env: Record<string, string>;
}

export const defaultSettings: ChaosSettings = {
  jobs: 10_000,
  outageMs: 60_000,
  failoverMs: 5_000,
  restartDelayMs: 1_000,
  clientConcurrency: 16,
  settleMs: 180_000,
  env: { ACK_WAIT_MS: "10000", CONCURRENCY: "4" },
};

export interface ExperimentResult {
  experiment: string;
  /** jobs the gateway accepted (202) */
  jobs: number;
  /** accepted jobs that did not succeed, or whose effect is missing */
  lost: number;
  /** jobs that ran to success more than once */
  duplicated: number;
  /** accepted jobs still queued or running at the end */
  stuck: number;
  /** service processes that exited without being told to */
  crashes: number;
  /**
   * seconds from the fault's start until the jobs it caught running are terminal and jobs complete
   * again after it ended
   */
  recoverySec: number;
  /** promises of the experiment's own that did not hold (e.g. a status read failing while Redis is down) */
  violations: string[];
  /** what the fault did and how the services answered: resets, stalls, breaker openings, 503s */
  seen: Record<string, number>;
  /** set when the experiment shows a known way to lose jobs: the loss is the finding, not a failure */
  finding?: string;
}

/** What an experiment can break, and what it can look at while it does. */
export interface FaultTarget {
  infra: Infra;
  workers: Supervised[];
  settings: ChaosSettings;
  /** with `uses.proxies` or `uses.replica`: between the services and NATS / PostgreSQL */
  proxies?: { nats: FaultProxy; postgres: FaultProxy };
  /** with `uses.status` */
  status?: Supervised;
  /** with `uses.replica`: the primary's streaming replica */
  replica?: RunningServer;
  /** the jobs accepted so far */
  accepted: readonly string[];
  /** the token the client submits with (its subject owns the jobs) */
  token(): Promise<string>;
  /** Records a promise of the experiment that did not hold. */
  violated(what: string): void;
  /** Counts something the fault did or the services answered. */
  saw(what: string, n?: number): void;
  /** workers whose circuit breaker is open now, as their logs last said */
  openBreakers(): number;
}

export interface Experiment {
  name: string;
  /** beyond the gateway and two workers on plain servers */
  uses?: {
    /** fault proxies between the services and NATS / PostgreSQL */
    proxies?: boolean;
    /** the status service, supervised like the others */
    status?: boolean;
    /**
     * a streaming replica of PostgreSQL behind a proxy standing in for CNPG's `-rw` Service;
     * "sync" makes every commit wait for it
     */
    replica?: "sync" | "async";
  };
  /** a known way to lose jobs this experiment shows (chaos:local reports it; it does not fail) */
  finding?: string;
  /** Injects the fault and resolves once it is over (the dependency back, the process restarted). */
  inject(t: FaultTarget): Promise<void>;
}

/** The part of the target an experiment declared in `uses`; throws if it forgot to. */
export function need<T>(part: T | undefined, what: string): T {
  if (part === undefined) throw new Error(`the experiment uses ${what} but did not declare it in \`uses\``);
  return part;
}

export { type Supervised, sleep };

/**
 * Submits one job until the gateway accepts it, retrying with the same key: 503s and lost
 * connections at once, 429s (too many of this caller's jobs queued, as when the workers wait out a
 * failover) after the Retry-After the gateway names, as a polite client would.
 */
async function submitUntilAccepted(
  gatewayUrl: string,
  token: () => Promise<string>,
  deadline: number,
  saw: (what: string) => void,
) {
  const body = JSON.stringify({
    type: "hash",
    payload: { data: randomUUID(), rounds: 1 },
    idempotencyKey: randomUUID(),
  });
  for (;;) {
    const res = await fetch(`${gatewayUrl}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await token()}` },
      body,
    }).catch(() => undefined);
    if (res?.status === 202) return ((await res.json()) as { id: string }).id;
    if (res && res.status !== 503 && res.status !== 429)
      throw new Error(`gateway answered ${res.status}: ${await res.text()}`);
    saw(res ? `gateway ${res.status}s (retried)` : "submissions cut off (retried)");
    await res?.body?.cancel();
    if (Date.now() > deadline) return undefined;
    await sleep(res?.status === 429 ? Number(res.headers.get("retry-after") ?? 1) * 1_000 : 100);
  }
}

async function notTerminal(pool: Pool, ids: string[]): Promise<number> {
  const { rows } = await pool.query(
    "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND status IN ('succeeded', 'failed')",
    [ids],
  );
  return ids.length - (rows[0].n as number);
}

/** A bad link between the primary and its replica: replicas in other zones, a few milliseconds away. */
const REPLICATION_LINK: FaultPlan = { ...CLEAN_WIRE, latencyMs: [2, 10] };

/** Keeps the first violations of each experiment in full; the rest are only counted. */
const MAX_VIOLATIONS_KEPT = 20;

interface Topology {
  infra: Infra;
  proxies?: { nats: FaultProxy; postgres: FaultProxy };
  replica?: RunningServer;
  /** where the services reach NATS, PostgreSQL and Redis */
  urls: ServiceUrls;
  /** where the harness reads the jobs: around the network's faults, but through the `-rw` Service */
  observerUrl: string;
  stop(): Promise<void>;
}

/** The servers an experiment runs on: plain ones, plus the proxies and replica it declared in `uses`. */
async function startTopology(uses: NonNullable<Experiment["uses"]>): Promise<Topology> {
  // With a replica the primary's commits are durable locally, as a real one's are; the replica
  // settings decide whether they also wait for the replica.
  const infra = await startInfra({}, { postgresSettings: uses.replica ? { synchronous_commit: "on" } : {} });
  const stops: (() => Promise<void>)[] = [() => infra.stop()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    let replica: RunningServer | undefined;
    if (uses.replica) {
      const link = await startFaultProxy(infra.postgres.port);
      stops.push(() => link.close());
      replica = await startPostgresReplica(link);
      stops.push(() => (replica as RunningServer).stop());
      link.setPlan(REPLICATION_LINK);
      if (uses.replica === "sync") await requireSynchronousStandby(infra.postgres.url);
    }
    let proxies: Topology["proxies"];
    if (uses.proxies || uses.replica) {
      proxies = { nats: await startFaultProxy(infra.nats.port), postgres: await startFaultProxy(infra.postgres.port) };
      const { nats, postgres } = proxies;
      stops.push(
        () => nats.close(),
        () => postgres.close(),
      );
    }
    const direct = infraUrls(infra);
    const urls = proxies
      ? { ...direct, natsUrl: proxies.nats.via(direct.natsUrl), databaseUrl: proxies.postgres.via(direct.databaseUrl) }
      : direct;
    return { infra, proxies, replica, urls, observerUrl: uses.replica ? urls.databaseUrl : direct.databaseUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs one experiment on servers and processes of its own, and measures what the fault did. */
export async function runExperiment(exp: Experiment, settings: ChaosSettings): Promise<ExperimentResult> {
  const uses = exp.uses ?? {};
  const topology = await startTopology(uses);
  const { infra } = topology;
  const procs: Supervised[] = [];
  const pool = createPool(topology.observerUrl, 2);
  const violations: string[] = [];
  let violationCount = 0;
  const seen: Record<string, number> = {};
  const saw = (what: string, n = 1) => {
    seen[what] = (seen[what] ?? 0) + n;
  };
  try {
    await migrate(pool);
    const env = serviceEnv(topology.urls, { env: settings.env, logLevel: "info" });
    const successes = new Map<string, number>();
    const openBreakers = new Set<unknown>();
    const onWorkerLine = (l: Record<string, unknown>) => {
      if (l.msg === "job succeeded" && typeof l.job_id === "string")
        successes.set(l.job_id, (successes.get(l.job_id) ?? 0) + 1);
      else if (typeof l.msg === "string" && /^circuit breaker (open|closed)/.test(l.msg)) {
        const state = l.msg.split(":")[0] as string;
        saw(`worker ${state}`);
        if (state.endsWith("open")) openBreakers.add(l.service);
        else openBreakers.delete(l.service);
      } else if (l.msg === "infrastructure error; delivery handed back") saw("worker infrastructure errors (retried)");
    };
    const start = async (
      name: string,
      service: Parameters<typeof mainOf>[0],
      onLine = (_: Record<string, unknown>) => {},
    ) => {
      const p = supervise(name, mainOf(service), env, await freePort(), settings.restartDelayMs, onLine);
      procs.push(p);
      return p;
    };
    const gateway = await start("chaos-gateway", "gateway");
    await waitReady(gateway.url, 60_000);
    const workers = [
      await start("chaos-worker-1", "worker", onWorkerLine),
      await start("chaos-worker-2", "worker", onWorkerLine),
    ];
    const status = uses.status ? await start("chaos-status", "status") : undefined;
    await Promise.all([...workers, ...(status ? [status] : [])].map((p) => waitReady(p.url, 60_000)));

    let cachedToken: Promise<string> | undefined;
    const token = () => {
      cachedToken ??= infra.issuer.issue({ expiresIn: 3_600 });
      return cachedToken;
    };
    const accepted: string[] = [];
    const target: FaultTarget = {
      infra,
      workers,
      settings,
      proxies: topology.proxies,
      status,
      replica: topology.replica,
      accepted,
      token,
      violated: (what) => {
        if (violationCount++ < MAX_VIOLATIONS_KEPT) violations.push(what);
      },
      saw,
      openBreakers: () => openBreakers.size,
    };
    let next = 0;
    const submitDeadline = Date.now() + settings.settleMs + settings.outageMs;
    /** Polls until none of `ids` is left unfinished; the time it happened, or undefined at the deadline. */
    const doneAt = async (ids: string[], until: number) => {
      for (;;) {
        if ((await notTerminal(pool, ids).catch(() => ids.length)) === 0) return Date.now();
        if (Date.now() > until) return undefined;
        await sleep(250);
      }
    };
    let fault: Promise<{ at: number; healedAt: number; runningDone: Promise<number | undefined> }> | undefined;
    const strike = async () => {
      // The jobs running as it strikes (read before it, so a Postgres fault does not hide them).
      const running = (await pool.query("SELECT id FROM jobs WHERE status = 'running'")).rows.map(
        (r) => r.id as string,
      );
      const at = Date.now();
      const injected = exp.inject(target);
      // Watched from the fault's end on, while the client keeps submitting.
      const runningDone = injected.then(() => doneAt(running, Date.now() + settings.settleMs));
      await injected;
      return { at, healedAt: Date.now(), runningDone };
    };
    const client = async () => {
      while (next < settings.jobs) {
        next++;
        // The fault strikes a third of the way in, while jobs are flowing.
        if (!fault && next >= settings.jobs / 3) fault = strike();
        const id = await submitUntilAccepted(gateway.url, token, submitDeadline, saw);
        if (id) accepted.push(id);
      }
    };
    await Promise.all(Array.from({ length: settings.clientConcurrency }, client));
    const { at, healedAt, runningDone } = await (fault ?? strike());
    await doneAt(accepted, Date.now() + settings.settleMs);
    // Recovered: the jobs the fault caught running are terminal, and a job completed after the fault ended.
    const runningDoneAt = await runningDone;
    const firstAfter = await pool.query<{ at: Date | null }>(
      "SELECT min(updated_at) AS at FROM jobs WHERE status = 'succeeded' AND updated_at > $1",
      [new Date(healedAt)],
    );
    const resumedAt = firstAfter.rows[0]?.at?.getTime() ?? Date.now();
    const recoveredAt = Math.max(runningDoneAt ?? Date.now(), resumedAt);
    const { rows } = await pool.query<{ succeeded: number; effects: number; stuck: number }>(
      `SELECT count(*) FILTER (WHERE j.status = 'succeeded')::int AS succeeded,
              count(r.job_id)::int AS effects,
              count(*) FILTER (WHERE j.status IN ('queued', 'running'))::int AS stuck
       FROM jobs j LEFT JOIN job_results r ON r.job_id = j.id WHERE j.id = ANY($1)`,
      [accepted],
    );
    const counts = rows[0] ?? { succeeded: 0, effects: 0, stuck: 0 };
    if (violationCount > MAX_VIOLATIONS_KEPT) violations.push(`... and ${violationCount - MAX_VIOLATIONS_KEPT} more`);
    return {
      experiment: exp.name,
      jobs: accepted.length,
      lost: accepted.length - Math.min(counts.succeeded, counts.effects),
      duplicated: [...successes.values()].filter((n) => n > 1).length,
      stuck: counts.stuck,
      crashes: procs.reduce((n, p) => n + p.crashes(), 0),
      recoverySec: Math.round((recoveredAt - at) / 100) / 10,
      violations,
      seen,
      ...(exp.finding && { finding: exp.finding }),
    };
  } finally {
    for (const p of procs.reverse()) await p.stop().catch(() => {});
    await pool.end().catch(() => {});
    await topology.stop();
  }
}

/**
 * The printed table: `experiment | jobs | lost | duplicated | recovery s`, plus stuck and crashes;
 * under it, per experiment, what the fault did, any promise of its own broken, and the finding an
 * experiment that may lose jobs shows.
 */
export function formatResults(results: ExperimentResult[]): string {
  const header = "| experiment | jobs | lost | duplicated | stuck | crashes | recovery s |";
  const rule = "|---|---|---|---|---|---|---|";
  const lines = results.map(
    (r) =>
      `| ${r.experiment} | ${r.jobs} | ${r.lost} | ${r.duplicated} | ${r.stuck} | ${r.crashes} | ${r.recoverySec} |`,
  );
  const notes = results.flatMap((r) => [
    ...(Object.keys(r.seen).length > 0
      ? [
          `${r.experiment}: ${Object.entries(r.seen)
            .map(([what, n]) => `${what} ${n}`)
            .join(", ")}`,
        ]
      : []),
    ...r.violations.map((v) => `${r.experiment}: BROKEN: ${v}`),
    ...(r.finding ? [`${r.experiment}: finding (not a failure): ${r.finding}`] : []),
  ]);
  return [header, rule, ...lines, ...(notes.length > 0 ? ["", ...notes] : [])].join("\n");
}
