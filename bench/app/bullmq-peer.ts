import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createVerifier, ownerOf, requireScope } from "@ktsw/task-shared/auth";
import { jobRequest } from "@ktsw/task-shared/contracts";
import { createPool } from "@ktsw/task-shared/db";
import { HttpProblem } from "@ktsw/task-shared/problem";
import { runJob } from "@ktsw/task-worker/jobs";
import { Queue, Worker } from "bullmq";

// The peers KTSW is measured against: a BullMQ worker with the same job effect as the app's worker
// (the job's function, then one row like the app's in Postgres), and the same kind of HTTP front
// as the gateway (RS256 JWT checked by the same verifier, body checked by the same contract) that
// enqueues into BullMQ instead of recording and publishing. Each runs as a process of its own (the
// main at the end), as each KTSW service does in the bench: one event loop per process on both sides.

export const redisOptions = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
};

export interface BullmqWorkerOptions {
  redisUrl: string;
  databaseUrl: string;
  queue: string;
  concurrency: number;
  poolSize: number;
}

export async function startBullmqWorker(o: BullmqWorkerOptions): Promise<{ stop(): Promise<void> }> {
  const pool = createPool(o.databaseUrl, o.poolSize);
  const worker = new Worker(
    o.queue,
    async (job) => {
      const { submittedBy, ...spec } = job.data;
      const output = await runJob(spec, { attempt: job.attemptsMade + 1 });
      await pool.query(
        `INSERT INTO jobs (id, type, payload, status, attempts, result, submitted_by)
         VALUES ($1, $2, $3, 'succeeded', 1, $4, $5)`,
        [randomUUID(), spec.type, JSON.stringify(spec.payload), JSON.stringify(output), submittedBy ?? "bench"],
      );
    },
    { connection: redisOptions(o.redisUrl), concurrency: o.concurrency },
  );
  await worker.waitUntilReady();
  return {
    stop: async () => {
      await worker.close();
      await pool.end();
    },
  };
}

export interface HttpFrontOptions {
  redisUrl: string;
  queue: string;
  issuer: string;
  jwksUrl: string;
  port: number;
}

const send = (res: import("node:http").ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
};

export async function startHttpFront(o: HttpFrontOptions): Promise<{ url: string; stop(): Promise<void> }> {
  const verify = createVerifier({
    issuer: o.issuer,
    jwksUrl: o.jwksUrl,
    audience: "task-api",
    clockSkewSec: 30,
    jwksCooldownMs: 30_000,
  });
  const queue = new Queue(o.queue, { connection: redisOptions(o.redisUrl) });
  const server: Server = createServer((req, res) => {
    if (req.url === "/readyz") return send(res, 200, { ready: true });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      try {
        const principal = await verify(req.headers.authorization);
        requireScope(principal, "jobs:write");
        const parsed = jobRequest.safeParse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        if (!parsed.success) return send(res, 400, { title: "Invalid job request" });
        const { idempotencyKey: _unused, ...spec } = parsed.data;
        const id = randomUUID();
        await queue.add(
          spec.type,
          { ...spec, submittedBy: ownerOf(principal) },
          {
            jobId: id,
            removeOnComplete: true,
            removeOnFail: 1000,
          },
        );
        send(res, 202, { id });
      } catch (err) {
        if (err instanceof HttpProblem) send(res, err.problem.status, err.problem);
        else send(res, 503, { title: "Service Unavailable", detail: (err as Error).message });
      }
    });
  });
  await new Promise<void>((r) => server.listen(o.port, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise((r) => server.close(r));
      await queue.close();
    },
  };
}

/** Answers /readyz on `port` (how the bench's process supervisor knows a peer process is up). */
async function readiness(port: number): Promise<{ stop(): Promise<void> }> {
  const server = createServer((_req, res) => send(res, 200, { ready: true }));
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { stop: () => new Promise((r) => server.close(() => r())) };
}

/** One peer process from its environment: PEER_ROLE `front` or `worker`, then stopped on SIGTERM. */
async function peerMain(env: NodeJS.ProcessEnv): Promise<void> {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set`);
    return v;
  };
  const common = { redisUrl: need("REDIS_URL"), queue: need("PEER_QUEUE") };
  const port = Number(need("PORT"));
  let parts: { stop(): Promise<void> }[];
  if (env.PEER_ROLE === "front")
    parts = [await startHttpFront({ ...common, issuer: need("OIDC_ISSUER"), jwksUrl: need("OIDC_JWKS_URL"), port })];
  else if (env.PEER_ROLE === "worker") {
    const worker = await startBullmqWorker({
      ...common,
      databaseUrl: need("DATABASE_URL"),
      concurrency: Number(need("PEER_CONCURRENCY")),
      poolSize: 5,
    });
    parts = [worker, await readiness(port)];
  } else throw new Error(`PEER_ROLE must be front or worker, not ${env.PEER_ROLE}`);
  process.once("SIGTERM", () => {
    Promise.all(parts.map((p) => p.stop())).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  peerMain(process.env).catch((err) => {
    console.error(err);
    process.exit(1);
  });
