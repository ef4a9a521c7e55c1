import { type Experiment, type FaultTarget, need, type Supervised, sleep } from "./chaos.ts";
import { CLEAN_WIRE, type FaultPlan } from "./fault-proxy.ts";
import { promotePostgres } from "./servers.ts";

// The fault suite's experiments: what each one breaks, and for how long. The harness around them
// (servers, supervised services, the client, the verdict) is chaos.ts.

/**
 * A bad network as TCP sees it: 20–50 ms each way, one chunk in fifty held 200–1000 ms as if its
 * segment were lost and retransmitted (everything behind it waits), one in a thousand reset.
 */
export const BAD_NETWORK: FaultPlan = {
  latencyMs: [20, 50],
  stallChance: 0.02,
  stallMs: [200, 1_000],
  resetChance: 0.001,
};

/** How long the link to PostgreSQL is down in the middle of the bad network: long enough for breakers to open. */
const LINK_DOWN_MS = 3_000;

/** Reads accepted jobs from the status service until `until`, recording any answer that is not a 200 cache miss. */
async function readThroughOutage(t: FaultTarget, status: Supervised, until: number): Promise<void> {
  const auth = { authorization: `Bearer ${await t.token()}` };
  while (Date.now() < until) {
    const id = t.accepted[Math.floor(Math.random() * t.accepted.length)];
    const res = await fetch(`${status.url}/v1/jobs/${id}`, { headers: auth }).catch((err: Error) => err);
    t.saw("status reads while Redis was down");
    if (res instanceof Error) t.violated(`GET /v1/jobs/${id} failed while Redis was down: ${res.message}`);
    else {
      await res.body?.cancel();
      if (res.status !== 200 || res.headers.get("x-cache") !== "miss")
        t.violated(`GET /v1/jobs/${id} while Redis was down: ${res.status}, x-cache ${res.headers.get("x-cache")}`);
    }
    await sleep(20);
  }
}

/** Polls until reading one job twice is a cache hit the second time; records a violation at `until`. */
async function waitForCacheHits(t: FaultTarget, status: Supervised, until: number): Promise<void> {
  const auth = { authorization: `Bearer ${await t.token()}` };
  const id = t.accepted[0];
  for (;;) {
    const read = () =>
      fetch(`${status.url}/v1/jobs/${id}`, { headers: auth }).then(
        async (r) => {
          await r.body?.cancel();
          return r.headers.get("x-cache");
        },
        () => undefined,
      );
    await read();
    if ((await read()) === "hit") return t.saw("cache hits once Redis was back");
    if (Date.now() > until) return t.violated("the status service never served from Redis again after it came back");
    await sleep(250);
  }
}

/** Kills the primary, lets the failover's detection time pass, promotes the replica and repoints the `-rw` Service. */
async function failover(t: FaultTarget): Promise<void> {
  const replica = need(t.replica, "a replica");
  const service = need(t.proxies, "proxies").postgres;
  await t.infra.postgres.halt("SIGKILL");
  await sleep(t.settings.failoverMs);
  await promotePostgres(replica);
  service.repoint(replica.port);
}

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
  {
    name: "latency + loss to NATS and PostgreSQL",
    uses: { proxies: true },
    inject: async (t) => {
      const { nats, postgres } = need(t.proxies, "proxies");
      const both = [nats, postgres];
      for (const p of both) p.setPlan(BAD_NETWORK);
      await sleep(t.settings.outageMs / 2);
      // Halfway, the network flaps (every connection reset) and the link to PostgreSQL stays down a
      // while, NATS still delivering: each new connection is reset at its first bytes, as TCP ends
      // a connection whose segments all go missing.
      postgres.setPlan({ ...BAD_NETWORK, resetChance: 1 });
      for (const p of both) p.resetAll();
      await sleep(LINK_DOWN_MS);
      postgres.setPlan(BAD_NETWORK);
      await sleep(t.settings.outageMs / 2);
      for (const p of both) p.setPlan(CLEAN_WIRE);
      // Healed means the breakers are closed again, however long the last one's doubled delay is.
      const until = Date.now() + t.settings.settleMs;
      while (t.openBreakers() > 0 && Date.now() < until) await sleep(100);
      if (t.openBreakers() > 0) t.violated(`${t.openBreakers()} worker breaker(s) still open after the network healed`);
      for (const p of both) {
        const { stalls, resets } = p.counts();
        t.saw(`stalled chunks (${p === nats ? "NATS" : "PostgreSQL"})`, stalls);
        t.saw(`connection resets (${p === nats ? "NATS" : "PostgreSQL"})`, resets);
      }
    },
  },
  {
    name: "Redis down",
    uses: { status: true },
    inject: async (t) => {
      const status = need(t.status, "the status service");
      await t.infra.redis.halt("SIGTERM");
      await readThroughOutage(t, status, Date.now() + t.settings.outageMs);
      await t.infra.redis.start();
      await waitForCacheHits(t, status, Date.now() + 30_000);
    },
  },
  { name: "PostgreSQL failover (synchronous replica)", uses: { replica: "sync" }, inject: failover },
];

/** Experiments that show a known way to lose jobs: `npm run chaos:local` reports them, they fail nothing. */
export const FINDINGS: Experiment[] = [
  {
    name: "PostgreSQL failover (asynchronous replica)",
    uses: { replica: "async" },
    finding:
      "with asynchronous replication the replica trails the primary; commits acknowledged inside that lag die with it",
    inject: failover,
  },
];
