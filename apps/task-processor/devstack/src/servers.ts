import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { checkTools } from "@ktsw/cli/catalog";
import { freePort } from "@ktsw/cli/ports";
import { gofakes3Args, standInKeys } from "@ktsw/cli/s3";
import { requireSimTool, requireTool } from "@ktsw/cli/tools";

// Starts real NATS, PostgreSQL and Redis servers from the Debian packages, each on its own port in
// its own temp dir, for the demo and for every test suite. Children are spawned through
// `setpriv --pdeathsig` so they die with this process even when it is killed before cleaning up.

export interface RunningServer {
  name: string;
  port: number;
  url: string;
  dir: string;
  /** the running server process (a new one after `start`) */
  process: ChildProcess;
  /** Stops the server for good and removes its data. */
  stop(): Promise<void>;
  /** Stops the server but keeps its data, as an outage would: `signal` picks how (SIGKILL = a crash). */
  halt(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a halted server again on the same port with the same data. */
  start(): Promise<void>;
}

// Ports are picked as the sim picks them (below the kernel's ephemeral range): a server binds its port
// a moment after it is chosen, and an outgoing connection of the same machine could take one from that range.
export { freePort };

export function isListening(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

/** Server binaries come from the project's one tool lookup: PATH, sbin, then each package's own folder
 *  (Go's bin for nats-server, /usr/lib/postgresql/15/bin); a missing one names its install step. */
export const findBinary = requireTool;

// initdb, postgres and pg_isready of one version: the folder the real postgres binary lives in (a
// postgres on PATH may be a symlink, and Debian's /usr/bin/pg_isready is a cluster wrapper).
const postgresBinDir = () => dirname(realpathSync(requireTool("postgres")));

const isRoot = () => process.getuid?.() === 0;

/** argv prefix: die with the parent; drop to `user` when we are root (initdb/postgres refuse root). */
export function wrap(cmd: string, args: string[], user?: string): [string, string[]] {
  const setpriv = findBinary("setpriv");
  const drop = user && isRoot() ? [`--reuid=${user}`, `--regid=${user}`, "--init-groups"] : [];
  return [setpriv, ["--pdeathsig", "TERM", ...drop, "--", cmd, ...args]];
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  child: ChildProcess,
  output: () => string,
  timeoutMs = 30_000,
) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null)
      throw new Error(`${what} exited with code ${child.exitCode} before becoming ready:\n${output()}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${output()}`);
}

/** Starts `cmd` tied to this process (see wrap), keeping the tail of its output for error messages. */
export function launch(name: string, cmd: string, args: string[], user?: string, env?: NodeJS.ProcessEnv) {
  const [bin, argv] = wrap(cmd, args, user);
  // Own process group: a terminal's Ctrl-C goes to the demo, which stops the servers in order.
  const child = spawn(bin, argv, { stdio: ["ignore", "pipe", "pipe"], detached: true, env: env ?? process.env });
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-4_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  children.add(child);
  child.once("exit", () => children.delete(child));
  return { child, output: () => `[${name}] ${out}` };
}

async function endChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * A server that can be halted and started again with its data (fault experiments), built from how
 * to launch it and how to tell it is ready; `stopSignal` is its clean shutdown.
 */
export async function serve(
  base: {
    name: string;
    port: number;
    url: string;
    dir: string;
    stopSignal: NodeJS.Signals;
    /** how long a start may take before it fails (a JVM server needs longer than the default 30 s) */
    readyTimeoutMs?: number;
  },
  launchIt: () => { child: ChildProcess; output: () => string },
  ready: () => Promise<boolean>,
): Promise<RunningServer> {
  let current: ChildProcess | undefined;
  const start = async () => {
    const { child, output } = launchIt();
    current = child;
    await waitFor(base.name, ready, child, output, base.readyTimeoutMs);
  };
  const halt = async (signal: NodeJS.Signals = base.stopSignal) => {
    if (current) await endChild(current, signal);
  };
  try {
    await start();
  } catch (err) {
    await rm(base.dir, { recursive: true, force: true });
    throw err;
  }
  return {
    name: base.name,
    port: base.port,
    url: base.url,
    dir: base.dir,
    get process() {
      return current as ChildProcess;
    },
    halt,
    start,
    stop: async () => {
      await halt();
      await rm(base.dir, { recursive: true, force: true });
    },
  };
}

const children = new Set<ChildProcess>();
// Last resort when the owner forgets stop(): never leave a server behind.
process.once("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

export async function tempDir(prefix: string, owner?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `ktsw-${prefix}-`));
  if (owner && isRoot()) {
    const uid = Number(execFileSync("id", ["-u", owner], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", owner], { encoding: "utf8" }).trim());
    await chown(dir, uid, gid);
  }
  return dir;
}

export async function startNats(port?: number): Promise<RunningServer> {
  const bin = findBinary("nats-server");
  const p = port ?? (await freePort());
  const dir = await tempDir("nats");
  return serve(
    { name: "nats", port: p, url: `nats://127.0.0.1:${p}`, dir, stopSignal: "SIGTERM" },
    () => launch("nats", bin, ["-js", "-a", "127.0.0.1", "-p", String(p), "-sd", join(dir, "js")]),
    () => isListening(p),
  );
}

export async function startRedis(port?: number): Promise<RunningServer> {
  const bin = findBinary("redis-server");
  const p = port ?? (await freePort());
  const dir = await tempDir("redis");
  return serve(
    { name: "redis", port: p, url: `redis://127.0.0.1:${p}`, dir, stopSignal: "SIGTERM" },
    () =>
      launch("redis", bin, [
        "--port",
        String(p),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
      ]),
    () => isListening(p),
  );
}

/** A program built from a wrapper module into the sim's cache (deps/sim-tools.txt), not installed on a path. */
type BuiltTool = (typeof checkTools)[number];
const isBuiltTool = (tool: string): tool is BuiltTool => (checkTools as readonly string[]).includes(tool);

/**
 * A server program of the tool catalog (or a built one) on a free port in a temp dir of its own, ready once the
 * port listens; `args` says how to start it there. For HTTP servers whose start-up is nothing but their flags.
 */
export async function startHttpTool(
  tool: Parameters<typeof findBinary>[0] | BuiltTool,
  args: (port: number, dir: string) => string[],
): Promise<RunningServer> {
  const bin = isBuiltTool(tool) ? requireSimTool(tool) : findBinary(tool);
  const p = await freePort();
  const dir = await tempDir(tool);
  return serve(
    { name: tool, port: p, url: `http://127.0.0.1:${p}`, dir, stopSignal: "SIGTERM" },
    () => launch(tool, bin, args(p, dir)),
    () => isListening(p),
  );
}

/** An S3 server: where it answers, the bucket it was started with, and the keys its clients use. */
export interface S3Server extends RunningServer {
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * A local S3 server: gofakes3 (MIT), a stand-in for the tree's SeaweedFS (data/seaweedfs), whose
 * build from its module costs a cold CI far more (apps/task-processor/README.md, "Backups and
 * point-in-time recovery"). It stores objects in its temp dir and starts with `bucket` made, as the
 * chart's bucket Job makes it in the cluster. It checks no signature: any key pair is accepted.
 */
export async function startS3(bucket: string): Promise<S3Server> {
  const bin = findBinary("gofakes3");
  const p = await freePort();
  const dir = await tempDir("s3");
  const server = await serve(
    { name: "s3", port: p, url: `http://127.0.0.1:${p}`, dir, stopSignal: "SIGTERM" },
    () => launch("s3", bin, gofakes3Args(p, dir, bucket)),
    () => isListening(p),
  );
  return Object.assign(server, { bucket, ...standInKeys });
}

/** `-c` settings of a PostgreSQL server, over the lab's defaults. */
export type PostgresSettings = Record<string, string>;

// Durability off: these are throw-away servers for tests and the demo, speed matters more.
const LAB_POSTGRES_SETTINGS: PostgresSettings = {
  listen_addresses: "127.0.0.1",
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
};

const POSTGRES_USER = "postgres";
const dataDirOf = (server: RunningServer) => join(server.dir, "data");

/**
 * Runs `program` as the postgres user (the owner of the lab's data directories) with `env` added to
 * this process's environment; resolves to its stdout, throws its stderr. Asynchronous: what else
 * runs in this process (a fault proxy the program talks through, a client) keeps running meanwhile.
 */
export async function runAsPostgresUser(
  program: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const [bin, argv] = wrap(program, args, POSTGRES_USER);
  const { stdout } = await promisify(execFile)(bin, argv, { env: { ...process.env, ...env } }).catch(
    (err: { stderr?: string }) => {
      throw new Error(`${basename(program)} failed: ${err.stderr ?? err}`);
    },
  );
  return stdout;
}

/** One of PostgreSQL's own programs (initdb, pg_basebackup, pg_ctl), as the postgres user. */
async function runPostgresTool(tool: string, args: string[]): Promise<void> {
  await runAsPostgresUser(join(postgresBinDir(), tool), args);
}

/**
 * A PostgreSQL server on `port` (a free one when undefined) whose data directory `create(data)`
 * makes: initdb, a base backup, or a restore from an object store.
 */
export async function servePostgres(
  name: string,
  port: number | undefined,
  settings: PostgresSettings,
  create: (data: string) => Promise<void>,
): Promise<RunningServer> {
  const bin = postgresBinDir();
  const p = port ?? (await freePort());
  const dir = await tempDir("pg", POSTGRES_USER);
  const data = join(dir, "data");
  const sock = join(dir, "sock");
  try {
    await mkdir(sock);
    if (isRoot()) execFileSync("chown", [POSTGRES_USER, sock]);
    await create(data);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const all = { ...LAB_POSTGRES_SETTINGS, ...settings };
  const args = [
    "-D",
    data,
    "-p",
    String(p),
    "-k",
    sock,
    ...Object.entries(all).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
  ];
  const pgIsReady = join(bin, "pg_isready");
  // SIGINT is postgres' "fast" shutdown: roll back clients, exit cleanly.
  return serve(
    { name, port: p, url: `postgres://app@127.0.0.1:${p}/postgres`, dir, stopSignal: "SIGINT" },
    () => launch(name, join(bin, "postgres"), args, POSTGRES_USER),
    async () => {
      try {
        execFileSync(pgIsReady, ["-h", "127.0.0.1", "-p", String(p), "-q"]);
        return true;
      } catch {
        return false;
      }
    },
  );
}

export async function startPostgres(port?: number, settings: PostgresSettings = {}): Promise<RunningServer> {
  return servePostgres("postgres", port, settings, (data) =>
    runPostgresTool("initdb", ["-D", data, "-U", "app", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"]),
  );
}

/**
 * A streaming replica of the primary at `primary.port`, as CNPG makes one: a base backup of the
 * running primary with `-R` (standby.signal plus primary_conninfo naming that port), then a hot
 * standby that follows its WAL. The port may be a proxy's, to put a network between the two.
 */
export async function startPostgresReplica(
  primary: { port: number },
  settings: PostgresSettings = {},
): Promise<RunningServer> {
  return servePostgres("postgres-replica", undefined, settings, (data) =>
    runPostgresTool("pg_basebackup", [
      ...["-h", "127.0.0.1", "-p", String(primary.port), "-U", "app", "-D", data],
      ...["-R", "-X", "stream", "-c", "fast", "--no-sync"],
    ]),
  );
}

/** Promotes a standby to primary and resolves once it accepts writes (what CNPG does at failover). */
export async function promotePostgres(replica: RunningServer): Promise<void> {
  await runPostgresTool("pg_ctl", ["promote", "-D", dataDirOf(replica), "-w", "-t", "60"]);
}
