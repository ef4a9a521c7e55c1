import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { ephemeralRange, freePort } from "../../src/sim/ports.ts";

// The sim's ports come from below the kernel's ephemeral range: a port it picks at start and a
// process binds a minute later cannot be taken meanwhile by an outgoing connection.

const listen = (port: number) =>
  new Promise<() => Promise<void>>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve(() => new Promise((r) => srv.close(() => r()))));
  });

describe("the sim's free ports", () => {
  it("reads the kernel's ephemeral range, and falls back to its default", () => {
    expect(ephemeralRange(() => "32768\t60999\n")).toEqual([32768, 60999]);
    expect(ephemeralRange(() => "40000 50000")).toEqual([40000, 50000]);
    expect(
      ephemeralRange(() => {
        throw new Error("no /proc");
      }),
    ).toEqual([32768, 60999]);
    expect(ephemeralRange(() => "garbage")).toEqual([32768, 60999]);
  });

  it("hands out bindable ports below the ephemeral range, never one twice", async () => {
    const [low] = ephemeralRange();
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of ports) expect(p).toBeLessThan(low);
    const close = await listen(ports[0] as number);
    await close();
  });

  it("skips a port another program listens on", async () => {
    const [low] = ephemeralRange();
    // The port the fraction 0.75 picks (ports start at 10000), held by a listener of this test.
    const busy = 10_000 + Math.floor(0.75 * (low - 10_000));
    const close = await listen(busy).catch(() => async () => {}); // held by someone else already: as good
    try {
      let calls = 0;
      const port = await freePort(() => (calls++ === 0 ? 0.75 : 0.3));
      expect(calls).toBe(2);
      expect(port).not.toBe(busy);
      expect(port).toBeLessThan(low);
    } finally {
      await close();
    }
  });
});
