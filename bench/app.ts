// `npm run bench:app`: the task processor's throughput, latency and CPU cost beside its peers, all
// in one run on this machine: KTSW end to end, the same kind of HTTP + JWT front with BullMQ behind
// it, BullMQ direct, and the raw JetStream and PostgreSQL floors. Not a test: nothing asserts times;
// the goals of the task processor's README are printed as ratios, met or not. Every service runs
// as a process of its own, as each is a pod of its own in Kubernetes (and so does each part of
// the peers): one event loop does not carry the whole system, and each one's CPU is measured.
// This process idles while a load runs, and V8's memory reducer collects an idle heap in full,
// up to 35 ms on one of the machine's cores at a moment of its choosing: `npm run bench:app` starts
// it with --no-memory-reducer, and without tsx's CLI, a node process that would idle beside it.
import { spawn } from "node:child_process";
import { availableParallelism, cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { type Supervised, startServiceProcesses, supervise, waitReady } from "@ktsw/task-devstack/processes";
import { freePort } from "@ktsw/task-devstack/servers";
import { type Infra, infraUrls, startInfra } from "@ktsw/task-devstack/stack";
import type { Pool } from "@ktsw/task-shared/db";
import { createPool } from "@ktsw/task-shared/db";
import type { DriverPlan, DriverResult } from "./app/driver.ts";
import { cpuDelta, treeCpuMs } from "./app/measure.ts";
import { rawJetStream, rawPostgres } from "./app/raw.ts";
import { formatReport, type PeerRow } from "./app/report.ts";
import { addRounds, type FullLoad, noLoad, peerRow } from "./app/rounds.ts";

const num = (name: string, def: number) => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, not ${process.env[name]}`);
  return v;
};

export const settings = {
  /** jobs per peer at full load (the jobs/s figure) */
  jobs: num("BENCH_JOBS", 6000),
  /** jobs per peer before measuring (JIT, pools, caches) */
  warmup: num("BENCH_WARMUP", 600),
  /** full-load rounds: every peer takes its turn in each, `jobs` split between them */
  rounds: num("BENCH_ROUNDS", 3),
  /** seconds of constant half load per peer (the latency figures) */
  seconds: num("BENCH_SECONDS", 10),
  /** the client's concurrent submissions and its cap on unfinished jobs at full load */
  inflight: num("BENCH_INFLIGHT", 64),
  outstanding: num("BENCH_OUTSTANDING", 512),
  /** the BullMQ worker's concurrency (the KTSW worker keeps its own default) */
  bullmqConcurrency: num("BENCH_BULLMQ_CONCURRENCY", 16),
  /** how long one load run may take before the bench gives up on it */
  timeoutSeconds: num("BENCH_TIMEOUT_SECONDS", 300),
  /** operations for each raw floor */
  rawOps: num("BENCH_RAW_OPS", 20000),
};

const driverPath = new URL("./app/driver.ts", import.meta.url).pathname;

/** Runs the load client in its own process (see driver.ts) and returns what it measured. */
async function runDriver(plan: DriverPlan): Promise<DriverResult> {
  const r = await runDriverProcess(plan);
  console.error(`  ${plan.mode === "max" ? "full load" : `${plan.rate.toFixed(0)}/s`}: ${JSON.stringify(r)}`);
  return r;
}

function runDriverProcess(plan: DriverPlan): Promise<DriverResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", driverPath], {
      env: { ...process.env, BENCH_DRIVER_PLAN: JSON.stringify(plan) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const last = out.trim().split("\n").pop() ?? "";
      if (code === 0) resolve(JSON.parse(last) as DriverResult);
      else reject(new Error(`load client exited with ${code}: ${out.slice(-500)}`));
    });
  });
}

/** PostgreSQL write transactions (xids handed out) and WAL bytes so far: both exact at once, unlike
 *  pg_stat_database, whose counters backends report up to 10 s late. Each reading is itself one xid. */
async function pgCounters(pool: Pool): Promise<{ xids: number; walBytes: number }> {
  const { rows } = await pool.query(
    "SELECT pg_current_xact_id()::text::bigint AS xids, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS wal",
  );
  return { xids: Number(rows[0].xids), walBytes: Number(rows[0].wal) };
}

type Load = Pick<DriverPlan, "submit" | "done">;

/** The processes of one peer under test, by name, each measured on its own. */
type Processes = Record<string, Supervised>;

interface Peer {
  name: string;
  load: Load;
  processes: Processes;
}

const plan = (peer: Peer, mode: DriverPlan["mode"], jobs: number, rate = 1): DriverPlan => ({
  ...peer.load,
  inflight: settings.inflight,
  outstanding: settings.outstanding,
  mode,
  jobs,
  rate,
  seconds: settings.seconds,
  warmup: 0,
  timeoutMs: settings.timeoutSeconds * 1000,
});

/** What running a load cost: CPU of each of the peer's processes and of each server's tree, PG transactions and WAL. */
interface Cost {
  serviceCpu: Record<string, number>;
  serverCpu: Record<string, number>;
  xids: number;
  walBytes: number;
}

/** Runs the load client with `load` and measures what the run cost. */
async function measuredRun(peer: Peer, load: DriverPlan, infra: Infra, pool: Pool): Promise<[DriverResult, Cost]> {
  const servers = {
    nats: infra.nats.process.pid,
    postgres: infra.postgres.process.pid,
    redis: infra.redis.process.pid,
  };
  const own = Object.fromEntries(Object.entries(peer.processes).map(([k, p]) => [k, p.pid()]));
  const sample = () => ({ services: treeCpuMs(own), servers: treeCpuMs(servers) });
  const pg0 = await pgCounters(pool);
  const cpu0 = sample();
  const r = await runDriver(load);
  const cpu1 = sample();
  const pg1 = await pgCounters(pool);
  return [
    r,
    {
      serviceCpu: cpuDelta(cpu0.services, cpu1.services),
      serverCpu: cpuDelta(cpu0.servers, cpu1.servers),
      // The reading itself is one transaction.
      xids: pg1.xids - pg0.xids - 1,
      walBytes: pg1.walBytes - pg0.walBytes,
    },
  ];
}

/** One round of `jobs` at full load, with the CPU, transactions and WAL it cost. */
async function fullLoadRound(peer: Peer, jobs: number, infra: Infra, pool: Pool): Promise<FullLoad> {
  const [r, cost] = await measuredRun(peer, plan(peer, "max", jobs), infra, pool);
  return { completed: r.completed, failed: r.failed, seconds: r.seconds, ...cost };
}

/**
 * Every peer at full load in turn, round after round (`BENCH_ROUNDS`), so that other work on a
 * shared machine, which comes and goes, weighs on all of them alike; then each at half load.
 */
async function measure(peers: Peer[], infra: Infra, pool: Pool): Promise<PeerRow[]> {
  for (const peer of peers) {
    console.error(`… ${peer.name}: warm-up`);
    await runDriver(plan(peer, "max", settings.warmup));
  }
  const full = peers.map(() => noLoad);
  const perRound = Math.ceil(settings.jobs / settings.rounds);
  for (let round = 1; round <= settings.rounds; round++)
    for (const [i, peer] of peers.entries()) {
      console.error(`… ${peer.name}: full load, round ${round} of ${settings.rounds}`);
      full[i] = addRounds(full[i] as FullLoad, await fullLoadRound(peer, perRound, infra, pool));
    }
  const rows: PeerRow[] = [];
  for (const [i, peer] of peers.entries()) {
    const f = full[i] as FullLoad;
    console.error(`… ${peer.name}: half load`);
    const [half, cost] = await measuredRun(peer, plan(peer, "rate", 0, f.completed / f.seconds / 2), infra, pool);
    rows.push(peerRow(peer.name, f, half, cost.serviceCpu, cost.serverCpu));
  }
  const crashed = peers.flatMap((p) => Object.values(p.processes)).filter((p) => p.crashes() > 0);
  if (crashed.length > 0) throw new Error(`${crashed.map((p) => p.name).join(", ")} crashed during the run`);
  return rows;
}

const peerMain = fileURLToPath(new URL("./app/bullmq-peer.ts", import.meta.url));

/** The peer's parts (bullmq-peer.ts), each as a process of its own, ready to take load. */
async function startPeerProcesses(roles: ("front" | "worker")[], env: Record<string, string>): Promise<Processes> {
  const started: Processes = {};
  try {
    for (const role of roles) {
      const p = supervise(`peer-${role}`, peerMain, { ...env, PEER_ROLE: role }, await freePort(), 1_000);
      started[role] = p;
      await waitReady(p.url, 60_000);
    }
    return started;
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

const stopAll = (processes: Processes) => Promise.all(Object.values(processes).map((p) => p.stop()));

async function main() {
  const machine = {
    cpu: cpus()[0]?.model ?? "unknown CPU",
    cores: availableParallelism(),
    node: process.version,
    // Other work on a shared machine skews every row alike; this says how busy it was.
    loadBefore: loadavg()[0] ?? 0,
    date: new Date().toISOString().slice(0, 16).replace("T", " "),
  };
  const infra = await startInfra();
  const urls = infraUrls(infra);
  const pool = createPool(urls.databaseUrl, 2);
  const running: Processes[] = [];
  try {
    const token = await infra.issuer.issue({ scope: "jobs:write", expiresIn: 3_600 });
    // Every peer's processes are up from the start: the rounds take turns between them.
    const svc = await startServiceProcesses(urls, { env: { MAX_ACTIVE_JOBS_PER_SUBJECT: "1000000" } });
    running.push({ gateway: svc.gateway, worker: svc.worker, status: svc.status });
    const peerEnv = {
      REDIS_URL: urls.redisUrl,
      DATABASE_URL: urls.databaseUrl,
      OIDC_ISSUER: urls.issuer,
      OIDC_JWKS_URL: urls.jwksUrl,
      PEER_CONCURRENCY: String(settings.bullmqConcurrency),
    };
    const viaHttp = { redisUrl: urls.redisUrl, queue: "bench-http" };
    const front = await startPeerProcesses(["worker", "front"], { ...peerEnv, PEER_QUEUE: viaHttp.queue });
    running.push(front);
    const direct = { redisUrl: urls.redisUrl, queue: "bench-direct" };
    const directWorker = await startPeerProcesses(["worker"], { ...peerEnv, PEER_QUEUE: direct.queue });
    running.push(directWorker);
    const rows = await measure(
      [
        {
          name: "KTSW end to end (HTTP + JWT → gateway → JetStream → worker → PG)",
          load: { submit: { http: { url: svc.gateway.url, token } }, done: { nats: urls.natsUrl } },
          processes: { gateway: svc.gateway, worker: svc.worker, status: svc.status },
        },
        {
          name: "HTTP + JWT + BullMQ (same front, BullMQ behind, one PG insert)",
          load: { submit: { http: { url: (front.front as Supervised).url, token } }, done: { bullmq: viaHttp } },
          processes: front,
        },
        {
          name: "BullMQ direct (no HTTP, one PG insert)",
          load: { submit: { bullmq: direct }, done: { bullmq: direct } },
          processes: directWorker,
        },
      ],
      infra,
      pool,
    );
    for (const p of running.splice(0).reverse()) await stopAll(p);

    console.error("… raw floors");
    const js = await rawJetStream(urls.natsUrl, settings.rawOps, 64);
    const pg = await rawPostgres(urls.databaseUrl, settings.rawOps, 10);
    process.stdout.write(formatReport({ machine, settings, rows, raw: { jetstream: js, postgres: pg } }));
  } finally {
    for (const p of running.reverse()) await stopAll(p).catch(() => {});
    await pool.end();
    await infra.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
