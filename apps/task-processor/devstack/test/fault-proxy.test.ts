import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, test, vi } from "vitest";
import { CLEAN_WIRE, departureAt, type FaultProxy, fateOf, startFaultProxy } from "../src/fault-proxy.ts";

// The fault proxy: its pure decisions (what happens to a chunk, when it may leave), then the real
// thing between a client and an echo server.

/** A random source that returns `values` in turn. */
const draws = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

describe("fateOf", () => {
  const plan = { latencyMs: [20, 50] as const, stallChance: 0.1, stallMs: [200, 1_000] as const, resetChance: 0.01 };

  test("a clean wire delivers at once and draws nothing", () => {
    expect(fateOf(CLEAN_WIRE, () => expect.unreachable("drew a number"))).toEqual({
      kind: "deliver",
      delayMs: 0,
      stalled: false,
    });
  });

  test("a draw under the reset chance resets the connection", () => {
    expect(fateOf(plan, draws(0.005))).toEqual({ kind: "reset" });
  });

  test("latency is drawn between its bounds (the jitter)", () => {
    expect(fateOf(plan, draws(0.5, 0, 0.9))).toEqual({ kind: "deliver", delayMs: 20, stalled: false });
    expect(fateOf(plan, draws(0.5, 1, 0.9))).toEqual({ kind: "deliver", delayMs: 50, stalled: false });
  });

  test("a stalled chunk waits its latency plus the stall", () => {
    expect(fateOf(plan, draws(0.5, 0.5, 0.05, 0.5))).toEqual({ kind: "deliver", delayMs: 35 + 600, stalled: true });
  });
});

describe("departureAt", () => {
  test("a chunk leaves after its delay", () => {
    expect(departureAt(0, 1_000, 30)).toBe(1_030);
  });

  test("a chunk never overtakes the stalled one ahead of it", () => {
    expect(departureAt(1_900, 1_000, 30)).toBe(1_900);
  });
});

describe("startFaultProxy", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** An echo server on a free port. */
  const echo = async (): Promise<{ server: Server; port: number }> => {
    // The proxy resets the server side too: that is expected, not an uncaught error.
    const server = createServer((s) => s.on("error", () => {}).pipe(s));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    cleanup.push(() => new Promise((r) => server.close(r)));
    return { server, port: (server.address() as { port: number }).port };
  };
  const proxyTo = async (port: number, random?: () => number): Promise<FaultProxy> => {
    const proxy = await startFaultProxy(port, random);
    cleanup.push(() => proxy.close());
    return proxy;
  };
  const connect = async (port: number): Promise<Socket> => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.on("error", () => {});
    cleanup.push(async () => s.destroy());
    await once(s, "connect");
    return s;
  };
  /** Writes `text` and resolves with the echo and how long it took. */
  const roundTrip = async (s: Socket, text: string) => {
    const started = Date.now();
    s.write(text);
    let got = "";
    for await (const chunk of s) {
      got += chunk.toString();
      if (got.length >= text.length) break;
    }
    return { got, ms: Date.now() - started };
  };

  test("a clean proxy carries bytes both ways unchanged", async () => {
    const { port } = await echo();
    const proxy = await proxyTo(port);
    const s = await connect(proxy.port);
    const { got } = await roundTrip(s, "hello");
    expect(got).toBe("hello");
    expect(proxy.counts()).toMatchObject({ connections: 1, resets: 0, stalls: 0 });
  });

  test("latency delays each direction, and bytes keep their order", async () => {
    const { port } = await echo();
    const proxy = await proxyTo(port);
    proxy.setPlan({ ...CLEAN_WIRE, latencyMs: [100, 100] });
    const s = await connect(proxy.port);
    const { got, ms } = await roundTrip(s, "abcdef");
    expect(got).toBe("abcdef");
    expect(ms).toBeGreaterThanOrEqual(190);
  });

  test("under jitter, hundreds of separate writes arrive whole and in order", async () => {
    const { port } = await echo();
    const proxy = await proxyTo(port);
    proxy.setPlan({ ...CLEAN_WIRE, latencyMs: [0, 15], stallChance: 0.05, stallMs: [5, 30] });
    const s = await connect(proxy.port);
    let sent = "";
    let got = "";
    s.on("data", (b: Buffer) => {
      got += b.toString();
    });
    // Each write its own chunk: the next goes only once the proxy has read the last (so the kernel
    // cannot join them), while the earlier ones still wait in the jitter queue.
    for (let i = 0; i < 300; i++) {
      const before = proxy.counts().chunks;
      s.write(`${i};`);
      sent += `${i};`;
      await vi.waitFor(() => expect(proxy.counts().chunks).toBeGreaterThan(before), { timeout: 10_000, interval: 1 });
    }
    await vi.waitFor(() => expect(got.length).toBe(sent.length), { timeout: 20_000 });
    expect(got).toBe(sent);
    expect(proxy.counts().chunks).toBeGreaterThanOrEqual(300);
  });

  test("a reset reaches the client as ECONNRESET, and healing lets new connections through", async () => {
    const { port } = await echo();
    const proxy = await proxyTo(port);
    proxy.setPlan({ ...CLEAN_WIRE, resetChance: 1 });
    const s = await connect(proxy.port);
    const closed = new Promise((r) => s.once("close", r));
    const err = new Promise<Error>((r) => s.once("error", r));
    s.write("x");
    expect((await err).message).toMatch(/ECONNRESET/);
    await closed;
    expect(proxy.counts().resets).toBe(1);
    proxy.setPlan(CLEAN_WIRE);
    expect((await roundTrip(await connect(proxy.port), "again")).got).toBe("again");
  });

  test("resetAll resets every open connection, and the proxy keeps accepting", async () => {
    const { port } = await echo();
    const proxy = await proxyTo(port);
    const sockets = [await connect(proxy.port), await connect(proxy.port)];
    // Both connections carry bytes end to end (read without the iterator, which would close them).
    await Promise.all(
      sockets.map((s) => {
        s.write("up");
        return once(s, "data");
      }),
    );
    const errors = sockets.map((s) => new Promise<Error>((r) => s.once("error", r)));
    proxy.resetAll();
    for (const err of await Promise.all(errors)) expect(err.message).toMatch(/ECONNRESET/);
    expect(proxy.counts().resets).toBe(2);
    expect((await roundTrip(await connect(proxy.port), "again")).got).toBe("again");
  });

  test("repoint sends new connections to the new port", async () => {
    const first = await echo();
    const proxy = await proxyTo(first.port);
    const second = createServer((s) => s.on("error", () => {}).end("second"));
    second.listen(0, "127.0.0.1");
    await once(second, "listening");
    cleanup.push(() => new Promise((r) => second.close(r)));
    proxy.repoint((second.address() as { port: number }).port);
    const s = await connect(proxy.port);
    let got = "";
    for await (const chunk of s) got += chunk.toString();
    expect(got).toBe("second");
  });

  test("via rewrites a URL's host and port to the proxy's, keeping the rest", async () => {
    const proxy = await proxyTo(1);
    expect(proxy.via("postgres://app@127.0.0.1:5432/postgres")).toBe(`postgres://app@127.0.0.1:${proxy.port}/postgres`);
    expect(proxy.via("nats://127.0.0.1:4222")).toBe(`nats://127.0.0.1:${proxy.port}`);
  });
});
