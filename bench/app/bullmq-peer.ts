import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createVerifier, ownerOf, requireScope } from "@ktsw/task-shared/auth";
import { jobRequest } from "@ktsw/task-shared/contracts";
import { createPool } from "@ktsw/task-shared/db";
import { HttpProblem } from "@ktsw/task-shared/problem";
import { runJob } from "@ktsw/task-worker/jobs";
import { Queue, Worker } from "bullmq";

// The peers KTSW is measured against: a BullMQ worker with the same job effect as the app's worker
// (the job's function, then one row like the app's in Postgres), and the same kind of HTTP front
// as the gateway (RS256 JWT checked by the same verifier, body checked by the same contract) that
// enqueues into BullMQ instead of recording and publishing.

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
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise((r) => server.close(r));
      await queue.close();
    },
  };
}
