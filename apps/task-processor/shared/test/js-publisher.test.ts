import { type RunningServer, startNats } from "@ktsw/task-devstack/servers";
import { skipReason } from "@ktsw/task-devstack/testkit";
import { RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { jetStreamPublisher, pubAck } from "../src/js-publisher.ts";
import { connectNats, type Nats } from "../src/nats.ts";

// The gateway's JetStream publishes on real nats-server: every PubAck reaches its own caller
// through the one reply subscription, JetStream's deduplication shows, and each way a publish can
// fail says what failed.

describe("pubAck", () => {
  test("reads a PubAck and names a refusal or anything else", () => {
    expect(pubAck({ stream: "S", seq: 7 })).toEqual({ stream: "S", seq: 7, duplicate: false });
    expect(pubAck({ stream: "S", seq: 7, duplicate: true }).duplicate).toBe(true);
    expect(() => pubAck({ error: { code: 503, err_code: 10077, description: "maximum messages exceeded" } })).toThrow(
      /refused the message: maximum messages exceeded \(10077\)/,
    );
    expect(() => pubAck({ hello: 1 })).toThrow(/not a PubAck: \{"hello":1\}/);
  });
});

describe.skipIf(skipReason)("jetStreamPublisher on nats-server", () => {
  let server: RunningServer;
  let nats: Nats;
  beforeAll(async () => {
    server = await startNats();
    nats = await connectNats(server.url, "publisher-test");
    await nats.jsm.streams.add({
      name: "PUB",
      subjects: ["pub.>"],
      retention: RetentionPolicy.Limits,
      storage: StorageType.Memory,
      duplicate_window: nanos(60_000),
    });
  });
  afterAll(async () => {
    await nats?.nc.close();
    await server?.stop();
  });

  test("many publishes at once each get their own PubAck; a repeated msgID is a duplicate", async () => {
    const acks = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        nats.publisher.publish(`pub.${i % 3}`, `m${i}`, { msgID: `id-${i}`, timeoutMs: 5_000 }),
      ),
    );
    expect(new Set(acks.map((a) => a.seq)).size).toBe(200);
    expect(acks.every((a) => a.stream === "PUB" && !a.duplicate)).toBe(true);
    // The stored message at each ack's sequence is the one that publish sent.
    for (const i of [0, 57, 199]) {
      const stored = await nats.jsm.streams.getMessage("PUB", { seq: acks[i]?.seq as number });
      expect(stored?.string()).toBe(`m${i}`);
    }
    const again = await nats.publisher.publish("pub.0", "m0 again", { msgID: "id-0", timeoutMs: 5_000 });
    expect(again).toEqual({ stream: "PUB", seq: acks[0]?.seq, duplicate: true });
    expect(nats.publisher.pending).toBe(0);
  });

  test("a subject no stream listens on is refused at once as having no responders", async () => {
    await expect(nats.publisher.publish("nostream.x", "m", { msgID: "n-1", timeoutMs: 5_000 })).rejects.toThrow(
      /no responders/,
    );
    expect(nats.publisher.pending).toBe(0);
  });

  test("no PubAck within the timeout rejects naming the subject and leaves nothing waiting", async () => {
    // A plain subscriber that never answers stands where a stream should.
    const silent = nats.nc.subscribe("silent.x");
    await nats.nc.flush();
    try {
      await expect(nats.publisher.publish("silent.x", "m", { msgID: "s-1", timeoutMs: 100 })).rejects.toThrow(
        /no PubAck for silent.x within 100 ms/,
      );
      expect(nats.publisher.pending).toBe(0);
    } finally {
      silent.unsubscribe();
    }
  });

  test("publishing on a closed connection rejects and leaves nothing waiting", async () => {
    const own = await connectNats(server.url, "publisher-closed");
    const publisher = jetStreamPublisher(own.nc);
    await own.nc.close();
    await expect(publisher.publish("pub.1", "m", { msgID: "c-1", timeoutMs: 5_000 })).rejects.toThrow();
    expect(publisher.pending).toBe(0);
  });

  test("opens its reply subscription at the first publish, once, not before", async () => {
    const own = await connectNats(server.url, "publisher-lazy");
    try {
      let subscriptions = 0;
      // The real connection, with its subscribe calls counted.
      const counted = new Proxy(own.nc, {
        get: (target, key) =>
          key === "subscribe"
            ? (...args: Parameters<typeof target.subscribe>) => {
                subscriptions += 1;
                return target.subscribe(...args);
              }
            : Reflect.get(target, key, target),
      });
      const publisher = jetStreamPublisher(counted);
      expect(subscriptions).toBe(0);
      const acks = await Promise.all(
        ["l-1", "l-2"].map((msgID) => publisher.publish("pub.2", msgID, { msgID, timeoutMs: 5_000 })),
      );
      expect(acks.every((a) => a.stream === "PUB")).toBe(true);
      await publisher.publish("pub.2", "l-3", { msgID: "l-3", timeoutMs: 5_000 });
      expect(subscriptions).toBe(1);
    } finally {
      await own.nc.close();
    }
  });
});
