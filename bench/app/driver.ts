import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { SUBJECTS } from "@ktsw/task-shared/contracts";
import { connectNats } from "@ktsw/task-shared/nats";
import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { redisOptions } from "./bullmq-peer.ts";
import { quantile } from "./measure.ts";

// The load client of `npm run bench:app`, in its own process so that its CPU and its event loop are
// not the system's under test. It submits hash jobs (over HTTP, or straight into BullMQ), learns
// when each is done (the app's NATS job events, or BullMQ's completed events) and prints one JSON
// line: how many completed, how long it took, and submit→done latencies.

export interface DriverPlan {
  submit: { http: { url: string; token: string } } | { bullmq: { redisUrl: string; queue: string } };
  done: { nats: string } | { bullmq: { redisUrl: string; queue: string } };
  /** "max": `jobs` as fast as it goes (at most `inflight` submissions, `outstanding` unfinished); "rate": `rate` jobs/s for `seconds` */
  mode: "max" | "rate";
  jobs: number;
  warmup: number;
  inflight: number;
  outstanding: number;
  rate: number;
  seconds: number;
  timeoutMs: number;
}

export interface DriverResult {
  completed: number;
  failed: number;
  seconds: number;
  jobsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

type Submit = (i: number) => Promise<string>;

function httpSubmitter(url: string, token: string, sockets: number): Submit {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const target = new URL("/v1/jobs", url);
  return (i) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ type: "hash", payload: { data: `bench job ${i}`, rounds: 1 } });
      const req = request(
        target,
        {
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            authorization: `Bearer ${token}`,
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () =>
            res.statusCode === 202
              ? resolve((JSON.parse(text) as { id: string }).id)
              : reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
}

/** Calls `onDone(id)` for every job that finished successfully; resolves once it is listening. */
async function listenForDone(done: DriverPlan["done"], onDone: (id: string) => void) {
  if ("nats" in done) {
    const { nc } = await connectNats(done.nats, "bench-driver");
    // Only the `succeeded` transitions (the status is in the subject): the load client parses one
    // event per job, not all three, and so takes less of the machine from the system under test.
    const sub = nc.subscribe(SUBJECTS.eventsWithStatus("succeeded"));
    void (async () => {
      for await (const m of sub) onDone(m.json<{ id: string }>().id);
    })();
    await nc.flush();
    return () => nc.close();
  }
  // From the stream's current end, fixed before any job is sent: QueueEvents' default ("$" when
  // its first read happens) would miss jobs finished before that read. `bull:` is BullMQ's
  // default key prefix, which every queue of the bench keeps.
  const probe = new Redis(redisOptions(done.bullmq.redisUrl));
  const [newest] = await probe.xrevrange(`bull:${done.bullmq.queue}:events`, "+", "-", "COUNT", 1);
  probe.disconnect();
  const events = new QueueEvents(done.bullmq.queue, {
    connection: redisOptions(done.bullmq.redisUrl),
    lastEventId: newest?.[0] ?? "0",
  });
  events.on("completed", ({ jobId }) => onDone(jobId));
  await events.waitUntilReady();
  return () => events.close();
}

export async function drive(plan: DriverPlan): Promise<DriverResult> {
  let queue: Queue | undefined;
  const submit: Submit =
    "http" in plan.submit
      ? httpSubmitter(plan.submit.http.url, plan.submit.http.token, plan.inflight)
      : ((q) => {
          queue = q;
          return async (i: number) =>
            (
              await q.add(
                "hash",
                { type: "hash", payload: { data: `bench job ${i}`, rounds: 1 } },
                { removeOnComplete: true, removeOnFail: 1000 },
              )
            ).id as string;
        })(new Queue(plan.submit.bullmq.queue, { connection: redisOptions(plan.submit.bullmq.redisUrl) }));

  // A job's done event can overtake the answer that names its id: both orders are matched.
  const started = new Map<string, number>();
  const finishedEarly = new Map<string, number>();
  const latencies: number[] = [];
  let measuring = false;
  let completed = 0;
  let failed = 0;
  let wake = () => {};
  const finish = (t0: number, t1: number) => {
    if (measuring) latencies.push(t1 - t0);
    completed++;
    wake();
  };
  const stopListening = await listenForDone(plan.done, (id) => {
    const now = performance.now();
    const t0 = started.get(id);
    if (t0 === undefined) finishedEarly.set(id, now);
    else {
      started.delete(id);
      finish(t0, now);
    }
  });
  const one = async (i: number, t0: number) => {
    try {
      const id = await submit(i);
      const early = finishedEarly.get(id);
      if (early === undefined) started.set(id, t0);
      else {
        finishedEarly.delete(id);
        finish(t0, early);
      }
    } catch (err) {
      failed++;
      if (failed <= 3) console.error(`submission ${i} failed: ${(err as Error).message}`);
      wake();
    }
  };
  const settled = () => completed + failed;
  const waitUntil = async (cond: () => boolean, deadline: number, what: string) => {
    while (!cond()) {
      if (performance.now() > deadline)
        throw new Error(`${what}: ${completed} completed, ${failed} failed, ${started.size} unfinished`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };

  // Closed loop: keeps `inflight` submissions and `outstanding` unfinished jobs at most.
  const runMax = async (count: number) => {
    const base = settled();
    let next = 0;
    let sending = 0;
    const deadline = performance.now() + plan.timeoutMs;
    while (next < count) {
      await waitUntil(
        () => sending < plan.inflight && next - (settled() - base) < plan.outstanding,
        deadline,
        "max load stalled",
      );
      sending++;
      const i = next++;
      void one(i, performance.now()).finally(() => {
        sending--;
        wake();
      });
    }
    await waitUntil(() => settled() - base >= count, deadline, "max load did not finish");
  };

  await runMax(plan.warmup);
  const base = completed;
  const baseFailed = failed;
  measuring = true;
  const t0 = performance.now();
  let total = plan.jobs;
  if (plan.mode === "max") await runMax(plan.jobs);
  else {
    // Open loop at a constant rate; latency counts from when a job was due, not when it was sent,
    // so a client falling behind cannot hide the wait.
    total = Math.max(1, Math.round(plan.rate * plan.seconds));
    const interval = 1000 / plan.rate;
    for (let i = 0; i < total; ) {
      const due = t0 + i * interval;
      const now = performance.now();
      if (due > now) await new Promise((r) => setTimeout(r, Math.max(0, due - now - 0.5)));
      while (i < total && t0 + i * interval <= performance.now()) {
        void one(i, t0 + i * interval);
        i++;
      }
    }
    await waitUntil(() => settled() - base - baseFailed >= total, t0 + plan.timeoutMs, "rate load did not finish");
  }
  const seconds = (performance.now() - t0) / 1000;
  await stopListening();
  await queue?.close();
  latencies.sort((a, b) => a - b);
  const done = completed - base;
  return {
    completed: done,
    failed: failed - baseFailed,
    seconds,
    jobsPerSecond: done / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
  };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const plan = JSON.parse(process.env.BENCH_DRIVER_PLAN ?? "") as DriverPlan;
  drive(plan).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
