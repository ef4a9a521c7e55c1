import { ownerOf, type Principal } from "@ktsw/task-shared/auth";
import type { JobEvent, JobView } from "@ktsw/task-shared/contracts";
import type { Logger } from "@ktsw/task-shared/logger";
import { type Registry, websocketMetrics } from "@ktsw/task-shared/metrics";
import type { WebSocket } from "ws";
import { z } from "zod";
import type { JobInterest } from "./interest.ts";

// The WebSocket protocol, client → server:
//   {"type":"auth","token":"<JWT>"}            first message, within AUTH_DEADLINE_MS
//   {"type":"subscribe","ids":["<uuid>",...]}  then any number of these
//   {"type":"unsubscribe","ids":[...]}
// server → client: {"type":"ready"} | {"type":"snapshot","job":JobView} | {"type":"event","event":JobEvent}
//                  | {"type":"error","message":"..."} | {"type":"error","id":"…","status":404|503,"message":"…"}
//                  (a job that is not the caller's reads as no job: 404, and is not subscribed);
//                  close code 4401 when authentication fails.

const AUTH_DEADLINE_MS = 5_000;
const MAX_SUBSCRIPTIONS = 500;
// Each subscribed id costs a lookup; a client that keeps asking for ids that are not its own is
// probing (or hammering the database), not watching its jobs: closed with 1008 past this many.
export const MAX_UNKNOWN_IDS = 100;

const clientMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("auth"), token: z.string().min(1).max(8192) }),
  z.object({ type: z.literal("subscribe"), ids: z.array(z.uuid()).min(1).max(100) }),
  z.object({ type: z.literal("unsubscribe"), ids: z.array(z.uuid()).min(1).max(100) }),
]);

export class LiveHub {
  private readonly byJob = new Map<string, Set<WebSocket>>();
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly verify: (authorization: string) => Promise<Principal>,
    private readonly logger: Logger,
    /** The job as its owner sees it; undefined when it is not theirs (or does not exist). */
    private readonly snapshot: (id: string, owner: string) => Promise<JobView | undefined>,
    /** Which jobs' events this replica receives: one reason per watching connection. */
    private readonly interest: Pick<JobInterest, "want" | "release" | "receiving">,
    /** where the hub's metrics go: connections open, closes by code, snapshots and events sent */
    registry?: Registry,
  ) {
    this.metrics = registry && websocketMetrics(registry, () => this.sockets.size);
  }

  private readonly metrics: ReturnType<typeof websocketMetrics> | undefined;

  attach(socket: WebSocket): void {
    this.sockets.add(socket);
    const mine = new Set<string>();
    let owner: string | undefined;
    const send = (m: unknown) => socket.readyState === socket.OPEN && socket.send(JSON.stringify(m));
    const deadline = setTimeout(() => socket.close(4401, "authenticate first"), AUTH_DEADLINE_MS);
    let expiry: NodeJS.Timeout | undefined;
    let unknownIds = 0;

    // Messages are handled one after another, so a subscribe sent right behind the auth waits for it.
    let queue = Promise.resolve();
    const onMessage = async (data: unknown) => {
      let msg: z.infer<typeof clientMessage>;
      try {
        msg = clientMessage.parse(JSON.parse(String(data)));
      } catch (err) {
        const detail =
          err instanceof z.ZodError
            ? err.issues.map((i) => `${i.path.join(".") || "message"}: ${i.message}`).join("; ")
            : "not JSON";
        send({ type: "error", message: `bad message: ${detail}` });
        return;
      }
      if (msg.type === "auth") {
        try {
          const principal = await this.verify(`Bearer ${msg.token}`);
          owner = ownerOf(principal);
          clearTimeout(deadline);
          // A connection lives no longer than its token: at `exp` it closes, as a request would fail.
          clearTimeout(expiry);
          const exp = principal.claims.exp;
          if (exp !== undefined)
            expiry = setTimeout(() => socket.close(4401, "token expired"), Math.max(0, exp * 1000 - Date.now()));
          send({ type: "ready" });
        } catch (err) {
          socket.close(4401, String((err as Error).message).slice(0, 100));
        }
        return;
      }
      if (owner === undefined) {
        socket.close(4401, "authenticate first");
        return;
      }
      if (msg.type === "subscribe") {
        // Its events first, its state second: every transition after the snapshot is then pushed.
        const fresh = [...new Set(msg.ids)].filter((id) => !mine.has(id)).slice(0, MAX_SUBSCRIPTIONS - mine.size);
        for (const id of fresh) this.interest.want(id);
        try {
          await this.interest.receiving();
        } catch {
          // NATS unreachable: the snapshots are still right; the events resume when it reconnects.
        }
        try {
          await this.subscribe(msg.ids, owner, mine, socket, send, () => ++unknownIds);
        } finally {
          for (const id of fresh) if (!mine.has(id)) this.interest.release(id);
        }
      } else {
        for (const id of msg.ids) this.drop(id, socket, mine);
      }
    };
    socket.on("message", (data) => {
      queue = queue.then(() => onMessage(data)).catch((err) => this.logger.warn({ err }, "websocket message failed"));
    });
    socket.on("close", (code: number) => {
      this.metrics?.closed.inc({ code: String(code) });
      clearTimeout(deadline);
      clearTimeout(expiry);
      for (const id of [...mine]) this.drop(id, socket, mine);
      this.sockets.delete(socket);
    });
    socket.on("error", (err) => this.logger.debug({ err: err.message }, "websocket error"));
  }

  /** Whether any connection watches job `id`. */
  watches(id: string): boolean {
    return this.byJob.has(id);
  }

  publish(event: JobEvent): void {
    const payload = JSON.stringify({ type: "event", event });
    for (const s of this.byJob.get(event.id) ?? [])
      if (s.readyState === s.OPEN) {
        s.send(payload);
        this.metrics?.pushed.inc();
      }
  }

  closeAll(): void {
    for (const s of this.sockets) s.close(1001, "server shutting down");
  }

  /** Snapshots and watches the owner's jobs among `ids`, one after another; errors for the others. */
  private async subscribe(
    ids: readonly string[],
    owner: string,
    mine: Set<string>,
    socket: WebSocket,
    send: (m: unknown) => void,
    countUnknown: () => number,
  ): Promise<void> {
    for (const id of ids) {
      // Closed meanwhile: its close handler has let go of everything it watched.
      if (socket.readyState !== socket.OPEN) return;
      if (mine.size >= MAX_SUBSCRIPTIONS) {
        send({ type: "error", message: `at most ${MAX_SUBSCRIPTIONS} subscriptions per connection` });
        return;
      }
      let job: JobView | undefined;
      try {
        job = await this.snapshot(id, owner);
      } catch (err) {
        send({ type: "error", id, status: 503, message: `job lookup unavailable: ${(err as Error).message}` });
        continue;
      }
      // Only the owner's existing jobs: ids cannot be known before the gateway hands them out.
      if (!job) {
        send({ type: "error", id, status: 404, message: `no job with id ${id}` });
        if (countUnknown() >= MAX_UNKNOWN_IDS) {
          socket.close(1008, "too many unknown job ids");
          return;
        }
        continue;
      }
      if (socket.readyState !== socket.OPEN) return;
      mine.add(id);
      const set = this.byJob.get(id) ?? new Set<WebSocket>();
      this.byJob.set(id, set);
      set.add(socket);
      send({ type: "snapshot", job });
      this.metrics?.pushed.inc();
    }
  }

  private drop(id: string, socket: WebSocket, mine: Set<string>): void {
    if (mine.delete(id)) this.interest.release(id);
    const set = this.byJob.get(id);
    set?.delete(socket);
    if (set?.size === 0) this.byJob.delete(id);
  }
}
