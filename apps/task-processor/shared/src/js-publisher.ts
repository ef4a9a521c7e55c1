import { createInbox, type MsgHdrs, type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node";

/** JetStream's answer to a publish: where the message is stored, and whether it was a copy it dropped. */
export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

export interface JetStreamPublisher {
  /**
   * Publishes to a stream's subject and resolves with the PubAck; rejects when JetStream refuses it,
   * when no stream listens on the subject, or when no PubAck arrives within `timeoutMs`.
   * `msgID` is the deduplication key (`Nats-Msg-Id`).
   */
  publish(
    subject: string,
    data: string | Uint8Array,
    opts: { msgID: string; timeoutMs: number; headers?: MsgHdrs },
  ): Promise<PubAck>;
  /** PubAcks still awaited */
  readonly pending: number;
}

/**
 * JetStream publishes whose PubAcks all come back on one subscription (`<inbox>.<n>`), opened once.
 * nats.js's `js.publish` is a request: per message a random token, a timer promise, a deferred and,
 * once answered, an `Error` ("cancelled") with its stack trace, which alone was 2 % of the gateway's
 * CPU. Here a publish is a core publish with a reply subject, a map entry and a timer. An answer
 * that arrives after its timeout finds no entry and is dropped: the caller was told "no PubAck",
 * and a retry with the same `msgID` is deduplicated by JetStream.
 */
export function jetStreamPublisher(nc: NatsConnection): JetStreamPublisher {
  const prefix = `${createInbox()}.`;
  const waiting = new Map<
    string,
    { resolve: (ack: PubAck) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }
  >();
  let next = 0;

  // Opened by the first publish, not at connect: most services (the worker, the status service)
  // publish to JetStream rarely or never, and an idle subscription still costs the server interest.
  let subscribed = false;
  const subscribe = () => {
    nc.subscribe(`${prefix}*`, {
      callback: (err, msg) => {
        if (err) {
          // The subscription ended (connection closed): nothing more will be answered.
          for (const token of [...waiting.keys()])
            settle(token)?.reject(new Error(`PubAck subscription closed: ${err.message}`));
          return;
        }
        const w = settle(msg.subject.slice(prefix.length));
        if (!w) return;
        if (msg.headers?.code === 503) {
          w.reject(new Error("no responders: no JetStream stream listens on this subject"));
          return;
        }
        try {
          w.resolve(pubAck(msg.json()));
        } catch (e) {
          w.reject(e as Error);
        }
      },
    });
    subscribed = true;
  };

  /** Takes the entry of `token` out of the map and stops its timer. */
  function settle(token: string) {
    const w = waiting.get(token);
    if (!w) return undefined;
    waiting.delete(token);
    clearTimeout(w.timer);
    return w;
  }

  return {
    get pending() {
      return waiting.size;
    },
    publish(subject, data, opts) {
      const token = (next++).toString(36);
      return new Promise<PubAck>((resolve, reject) => {
        const timer = setTimeout(() => {
          settle(token)?.reject(new Error(`no PubAck for ${subject} within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
        waiting.set(token, { resolve, reject, timer });
        try {
          if (!subscribed) subscribe();
        } catch (err) {
          settle(token)?.reject(err as Error);
          return;
        }
        const h = opts.headers ?? natsHeaders();
        h.set("Nats-Msg-Id", opts.msgID);
        try {
          nc.publish(subject, data, { reply: prefix + token, headers: h });
        } catch (err) {
          settle(token)?.reject(err as Error);
        }
      });
    },
  };
}

/** A PubAck's body: `{stream, seq, duplicate?}`, or `{error: {code, err_code, description}}` when refused. */
export function pubAck(body: unknown): PubAck {
  const b = body as {
    stream?: unknown;
    seq?: unknown;
    duplicate?: unknown;
    error?: { description?: string; err_code?: number };
  };
  if (b?.error)
    throw new Error(
      `JetStream refused the message: ${b.error.description ?? "no reason"} (${b.error.err_code ?? "?"})`,
    );
  if (typeof b?.stream !== "string" || b.stream === "" || typeof b.seq !== "number")
    throw new Error(`not a PubAck: ${JSON.stringify(body).slice(0, 200)}`);
  return { stream: b.stream, seq: b.seq, duplicate: b.duplicate === true };
}
