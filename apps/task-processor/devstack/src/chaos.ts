import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createPool, migrate, type Pool } from "@ktsw/task-shared/db";
import { freePort, wrap } from "./servers.ts";
import { type Infra, infraUrls, serviceEnv, startInfra } from "./stack.ts";

// The fault suite: the gateway and two workers run as real processes under a supervisor that
// restarts them like Kubernetes would, a client submits jobs (retrying 503s and dropped
// connections with the same idempotency key), and a fault is injected while they flow. Afterwards
// every accepted job must be terminal, with exactly one effect, executed once, none left queued,
// and no process may have crashed. `npm run chaos:local` runs it at full size; a short version
// runs in `npm test`.

export interface ChaosSettings {
  /** jobs the client submits per experiment */
  jobs: number;
  /** how long the PostgreSQL outage lasts */
  outageMs: number;
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
}

/** What an experiment can break: the servers, and the supervised service processes. */
export interface FaultTarget {
  infra: Infra;
  workers: Supervised[];
  settings: ChaosSettings;
}

export interface Experiment {
  name: string;
  /** Injects the fault and resolves once it is over (the dependency back, the process restarted). */
  inject(t: FaultTarget): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const EXPERIMENTS: Experiment[] = [
  { name: "worker kill -9", inject: (t) => (t.workers[0] as Supervised).kill9() },
  {
    name: "nats-server restart",
    inject: async ({ infra }) => {
      await infra.nats.halt("SIGTERM");
      await infra.nats.start();
    },
  },
  {
    name: "nats-server kill -9",
    inject: async ({ infra }) => {
      await infra.nats.halt("SIGKILL");
      await infra.nats.start();
    },
  },
  {
    name: "PostgreSQL restart (fast)",
    inject: async ({ infra }) => {
      await infra.postgres.halt("SIGINT");
      await infra.postgres.start();
    },
  },
  {
    name: "PostgreSQL outage",
    inject: async ({ infra, settings }) => {
      await infra.postgres.halt("SIGINT");
      await sleep(settings.outageMs);
      await infra.postgres.start();
    },
  },
];

// The service's own node process runs the TypeScript through tsx's loader: no wrapper process that
// a kill -9 would leave the real one behind, and setpriv makes it die with this process.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const mainOf = (service: "gateway" | "worker") =>
  fileURLToPath(new URL(`../../${service}/src/main.ts`, import.meta.url));

/** A service process kept running like a Deployment keeps its pod: restarted whenever it exits. */
export interface Supervised {
  name: string;
  url: string;
  /** exits nobody asked for */
  crashes(): number;
  /** SIGKILL now; the supervisor starts it again after the restart delay. Resolves once it is ready. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

function supervise(
  name: string,
  main: string,
  env: Record<string, string>,
  port: number,
  restartDelayMs: number,
  onLine: (line: Record<string, unknown>) => void,
): Supervised {
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let crashes = 0;
  let expectExit = false;
  let stopping = false;
  let tail = "";
  const launch = () => {
    expectExit = false;
    const [bin, argv] = wrap(process.execPath, ["--import", tsxLoader, main]);
    const c = spawn(bin, argv, {
      env: { ...process.env, ...env, PORT: String(port), SERVICE_NAME: name },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = c;
    createInterface({ input: c.stdout as NodeJS.ReadableStream }).on("line", (l) => {
      try {
        onLine(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    });
    c.stderr?.on("data", (b: Buffer) => {
      tail = (tail + b.toString()).slice(-2_000);
    });
    c.once("exit", (code, signal) => {
      if (!expectExit && !stopping) {
        crashes++;
        console.error(`!!! ${name} exited unasked (code ${code}, signal ${signal}): ${tail}`);
      }
      if (!stopping) setTimeout(() => !stopping && launch(), restartDelayMs);
    });
  };
  launch();
  return {
    name,
    url,
    crashes: () => crashes,
    async kill9() {
      expectExit = true;
      child?.kill("SIGKILL");
      await sleep(restartDelayMs);
      await waitReady(url, 60_000);
    },
    async stop() {
      stopping = true;
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        const timer = setTimeout(() => c.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Polls /readyz until the service answers 200, or throws after `timeoutMs`. */
async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > until) throw new Error(`${url} was not ready within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Submits one job until the gateway accepts it, retrying 503s and lost connections with the same key. */
async function submitUntilAccepted(gatewayUrl: string, token: () => Promise<string>, deadline: number) {
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
    if (res && res.status !== 503) throw new Error(`gateway answered ${res.status}: ${await res.text()}`);
    await res?.body?.cancel();
    if (Date.now() > deadline) return undefined;
    await sleep(100);
  }
}

async function notTerminal(pool: Pool, ids: string[]): Promise<number> {
  const { rows } = await pool.query(
    "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND status IN ('succeeded', 'failed')",
    [ids],
  );
  return ids.length - (rows[0].n as number);
}

/** Runs one experiment on servers and processes of its own, and measures what the fault did. */
export async function runExperiment(exp: Experiment, settings: ChaosSettings): Promise<ExperimentResult> {
  const infra = await startInfra();
  const procs: Supervised[] = [];
  const pool = createPool(infra.postgres.url, 2);
  try {
    await migrate(pool);
    const env = serviceEnv(infraUrls(infra), { env: settings.env, logLevel: "info" });
    const successes = new Map<string, number>();
    const onWorkerLine = (l: Record<string, unknown>) => {
      if (l.msg === "job succeeded" && typeof l.job_id === "string")
        successes.set(l.job_id, (successes.get(l.job_id) ?? 0) + 1);
    };
    const gateway = supervise(
      "chaos-gateway",
      mainOf("gateway"),
      env,
      await freePort(),
      settings.restartDelayMs,
      () => {},
    );
    procs.push(gateway);
    await waitReady(gateway.url, 60_000);
    const workers: Supervised[] = [];
    for (const n of [1, 2]) {
      const w = supervise(
        `chaos-worker-${n}`,
        mainOf("worker"),
        env,
        await freePort(),
        settings.restartDelayMs,
        onWorkerLine,
      );
      procs.push(w);
      workers.push(w);
    }
    await Promise.all(workers.map((w) => waitReady(w.url, 60_000)));

    let cachedToken: Promise<string> | undefined;
    const token = () => {
      cachedToken ??= infra.issuer.issue({ expiresIn: 3_600 });
      return cachedToken;
    };
    const accepted: string[] = [];
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
      const injected = exp.inject({ infra, workers, settings });
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
        const id = await submitUntilAccepted(gateway.url, token, submitDeadline);
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
    return {
      experiment: exp.name,
      jobs: accepted.length,
      lost: accepted.length - Math.min(counts.succeeded, counts.effects),
      duplicated: [...successes.values()].filter((n) => n > 1).length,
      stuck: counts.stuck,
      crashes: procs.reduce((n, p) => n + p.crashes(), 0),
      recoverySec: Math.round((recoveredAt - at) / 100) / 10,
    };
  } finally {
    for (const p of procs.reverse()) await p.stop().catch(() => {});
    await pool.end().catch(() => {});
    await infra.stop();
  }
}

/** The printed table: `experiment | jobs | lost | duplicated | recovery s`, plus stuck and crashes. */
export function formatResults(results: ExperimentResult[]): string {
  const header = "| experiment | jobs | lost | duplicated | stuck | crashes | recovery s |";
  const rule = "|---|---|---|---|---|---|---|";
  const lines = results.map(
    (r) =>
      `| ${r.experiment} | ${r.jobs} | ${r.lost} | ${r.duplicated} | ${r.stuck} | ${r.crashes} | ${r.recoverySec} |`,
  );
  return [header, rule, ...lines].join("\n");
}
