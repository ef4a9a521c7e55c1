import { createConnection, createServer, type Socket } from "node:net";

// A TCP proxy that puts a bad network between a service and its dependency. The kernels this runs
// on often lack sch_netem (`tc qdisc add ... netem` fails), and a namespace per test needs root, so
// the faults are made here, at the one level a TCP client can tell apart anyway: bytes arrive late
// (latency with jitter), a segment lost on the wire holds everything behind it until it is
// retransmitted (a stall of hundreds of milliseconds), or the connection is reset. The proxy can
// also be repointed to another port, as Kubernetes repoints a Service's endpoints (a CNPG `-rw`
// Service follows the new primary after a failover).

/** What the network does to each chunk of bytes; all zero is a clean wire. */
export interface FaultPlan {
  /** one-way delay of every chunk, drawn uniformly from [min, max] ms: the spread is the jitter */
  latencyMs: readonly [number, number];
  /** chance that a chunk is stalled, as a lost segment waits for its retransmission */
  stallChance: number;
  /** how long a stalled chunk (and every byte behind it) waits, drawn from [min, max] ms */
  stallMs: readonly [number, number];
  /** chance, per chunk, that the connection is reset in both directions */
  resetChance: number;
}

export const CLEAN_WIRE: FaultPlan = { latencyMs: [0, 0], stallChance: 0, stallMs: [0, 0], resetChance: 0 };

export type ChunkFate = { kind: "reset" } | { kind: "deliver"; delayMs: number; stalled: boolean };

const between = ([min, max]: readonly [number, number], random: () => number) =>
  max > min ? min + (max - min) * random() : min;

/** What happens to one chunk under `plan`, drawing from `random` (uniform in [0, 1)). */
export function fateOf(plan: FaultPlan, random: () => number): ChunkFate {
  if (plan.resetChance > 0 && random() < plan.resetChance) return { kind: "reset" };
  const latency = between(plan.latencyMs, random);
  const stalled = plan.stallChance > 0 && random() < plan.stallChance;
  return { kind: "deliver", delayMs: latency + (stalled ? between(plan.stallMs, random) : 0), stalled };
}

/**
 * When a chunk that arrives at `now` with `delayMs` may leave: never before the chunk ahead of it
 * (`previousAt`), because TCP delivers a stream in order and a stalled segment blocks the rest.
 */
export function departureAt(previousAt: number, now: number, delayMs: number): number {
  return Math.max(previousAt, now + delayMs);
}

export interface FaultCounts {
  connections: number;
  chunks: number;
  stalls: number;
  resets: number;
}

export interface FaultProxy {
  port: number;
  /** `scheme://127.0.0.1:<proxy port>` + the rest of `url`: the same URL, through the proxy */
  via(url: string): string;
  /** Applies `plan` to every chunk from now on (CLEAN_WIRE heals the network). */
  setPlan(plan: FaultPlan): void;
  /** Resets every open connection at once, as a flapping link or a flushed NAT table does. */
  resetAll(): void;
  /** Sends new connections to `port`; connections already open stay with the old one. */
  repoint(port: number): void;
  counts(): FaultCounts;
  close(): Promise<void>;
}

/** A proxy on a free port of 127.0.0.1 in front of `127.0.0.1:targetPort`, clean until `setPlan`. */
export async function startFaultProxy(targetPort: number, random: () => number = Math.random): Promise<FaultProxy> {
  let target = targetPort;
  let plan = CLEAN_WIRE;
  const counts: FaultCounts = { connections: 0, chunks: 0, stalls: 0, resets: 0 };
  /** how to reset each open connection (client and upstream together) */
  const open = new Set<() => void>();

  /**
   * Carries `from`'s bytes to `to` under the current plan; a reset fate resets both. One queue per
   * direction, drained strictly in order by one timer: timers set at different moments can fire out
   * of order on a busy loop, and a byte stream delivered out of order is a corrupt one.
   */
  const carry = (from: Socket, to: Socket, resetBoth: () => void) => {
    const queue: { chunk: Buffer; at: number }[] = [];
    let lastAt = 0;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const drain = () => {
      timer = undefined;
      for (let head = queue[0]; head && head.at <= Date.now(); head = queue[0]) {
        queue.shift();
        if (!to.destroyed) to.write(head.chunk);
      }
      if (queue[0]) timer = setTimeout(drain, queue[0].at - Date.now());
      else if (ended && !to.destroyed) to.end();
    };
    from.on("data", (chunk: Buffer) => {
      counts.chunks++;
      const fate = fateOf(plan, random);
      if (fate.kind === "reset") {
        counts.resets++;
        resetBoth();
        return;
      }
      if (fate.stalled) counts.stalls++;
      lastAt = departureAt(lastAt, Date.now(), fate.delayMs);
      queue.push({ chunk, at: lastAt });
      if (!timer) drain();
    });
    // A half-close travels behind the data already queued.
    from.once("end", () => {
      ended = true;
      if (!timer) drain();
    });
  };

  // No Nagle on either leg: the proxy forwards what its peers sent when they sent it (PostgreSQL and
  // NATS clients turn it off themselves), or small writes wait for delayed ACKs, 40 ms a time.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    counts.connections++;
    const upstream = createConnection({ host: "127.0.0.1", port: target, allowHalfOpen: true, noDelay: true });
    const resetBoth = () => {
      for (const s of [client, upstream]) if (!s.destroyed) s.resetAndDestroy();
    };
    open.add(resetBoth);
    client.once("close", () => open.delete(resetBoth));
    carry(client, upstream, resetBoth);
    carry(upstream, client, resetBoth);
    // Either side failing (refused, reset, gone) resets the other: what its peer would see.
    client.on("error", resetBoth);
    upstream.on("error", resetBoth);
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("fault proxy: no address");
  const port = address.port;
  return {
    port,
    via: (url) => {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    setPlan: (p) => {
      plan = p;
    },
    resetAll: () => {
      for (const reset of open) {
        counts.resets++;
        reset();
      }
    },
    repoint: (p) => {
      target = p;
    },
    counts: () => ({ ...counts }),
    close: async () => {
      for (const reset of open) reset();
      await new Promise((r) => server.close(r));
    },
  };
}
