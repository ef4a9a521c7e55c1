import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createPool, migrate } from "@ktsw/task-shared/db";
import { freePort, wrap } from "./servers.ts";
import { type ServiceOptions, type ServiceUrls, serviceEnv } from "./stack.ts";

// The services as real processes, each its own Node and event loop as each is its own pod in
// Kubernetes: the fault suite kills and restarts them, the bench measures each one's CPU.

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The service's own node process runs the TypeScript through tsx's loader: no wrapper process that
// a kill -9 would leave the real one behind, and setpriv makes it die with this process.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
export const mainOf = (service: "gateway" | "worker" | "status") =>
  fileURLToPath(new URL(`../../${service}/src/main.ts`, import.meta.url));

/** A service process kept running like a Deployment keeps its pod: restarted whenever it exits. */
export interface Supervised {
  name: string;
  url: string;
  /** the running process's id (a restart changes it) */
  pid(): number | undefined;
  /** exits nobody asked for */
  crashes(): number;
  /** SIGKILL now; the supervisor starts it again after the restart delay. Resolves once it is ready. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs `main` (a TypeScript entry point) as a process with `env`, PORT and SERVICE_NAME; every JSON
 * line it prints goes to `onLine`.
 */
export function supervise(
  name: string,
  main: string,
  env: Record<string, string>,
  port: number,
  restartDelayMs: number,
  onLine: (line: Record<string, unknown>) => void = () => {},
): Supervised {
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let crashes = 0;
  let expectExit = false;
  let stopping = false;
  let tail = "";
  const launch = () => {
    expectExit = false;
    const [bin, argv] = wrap(process.execPath, ["--import", tsxLoader, main]);
    const c = spawn(bin, argv, {
      env: { ...process.env, ...env, PORT: String(port), SERVICE_NAME: name },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = c;
    createInterface({ input: c.stdout as NodeJS.ReadableStream }).on("line", (l) => {
      try {
        onLine(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    });
    c.stderr?.on("data", (b: Buffer) => {
      tail = (tail + b.toString()).slice(-2_000);
    });
    c.once("exit", (code, signal) => {
      if (!expectExit && !stopping) {
        crashes++;
        console.error(`!!! ${name} exited unasked (code ${code}, signal ${signal}): ${tail}`);
      }
      if (!stopping) setTimeout(() => !stopping && launch(), restartDelayMs);
    });
  };
  launch();
  return {
    name,
    url,
    pid: () => child?.pid,
    crashes: () => crashes,
    async kill9() {
      expectExit = true;
      child?.kill("SIGKILL");
      await sleep(restartDelayMs);
      await waitReady(url, 60_000);
    },
    async stop() {
      stopping = true;
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        const timer = setTimeout(() => c.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Polls /readyz until the service answers 200, or throws after `timeoutMs`. */
export async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > until) throw new Error(`${url} was not ready within ${timeoutMs} ms`);
    await sleep(200);
  }
}

export interface ServiceProcesses {
  gateway: Supervised;
  worker: Supervised;
  status: Supervised;
  /** each service's internal `/metrics` URL (its port is kept across restarts, as a pod's is) */
  metricsUrls: Record<Parameters<typeof mainOf>[0], string>;
  /** exits nobody asked for, all three together */
  crashes(): number;
  stop(): Promise<void>;
}

/**
 * The three services as processes of their own, started from their mains on free ports (what
 * startServices in stack.ts does in-process), after the migration Kubernetes runs as an init container.
 */
export async function startServiceProcesses(
  urls: ServiceUrls,
  opts: Pick<ServiceOptions, "env" | "logLevel"> & {
    /** every JSON log line of every service, with the service it came from */
    onLine?: (service: Parameters<typeof mainOf>[0], line: Record<string, unknown>) => void;
  } = {},
): Promise<ServiceProcesses> {
  const env = serviceEnv(urls, opts);
  const setupPool = createPool(urls.databaseUrl, 1);
  await migrate(setupPool).finally(() => setupPool.end());
  const started: Supervised[] = [];
  const stop = async () => {
    for (const p of started.reverse()) await p.stop().catch(() => {});
  };
  const metricsUrls = {} as ServiceProcesses["metricsUrls"];
  const start = async (service: Parameters<typeof mainOf>[0]) => {
    const metricsPort = await freePort();
    metricsUrls[service] = `http://127.0.0.1:${metricsPort}/metrics`;
    const p = supervise(
      `task-${service}`,
      mainOf(service),
      { ...env, METRICS_PORT: String(metricsPort) },
      await freePort(),
      1_000,
      (line) => opts.onLine?.(service, line),
    );
    started.push(p);
    await waitReady(p.url, 60_000);
    return p;
  };
  try {
    // The gateway first: the streams it ensures are where the worker's consumer lives.
    const gateway = await start("gateway");
    const worker = await start("worker");
    const status = await start("status");
    return {
      gateway,
      worker,
      status,
      metricsUrls,
      crashes: () => gateway.crashes() + worker.crashes() + status.crashes(),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
