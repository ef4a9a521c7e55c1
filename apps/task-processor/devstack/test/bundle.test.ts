import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { freePort } from "../src/servers.ts";
import { type Infra, startInfra } from "../src/stack.ts";
import { skipReason } from "../src/testkit.ts";

// What the container images run: each service bundled exactly as apps/task-processor/Dockerfile does
// (`npm run bundle`), started as its own process from its real `main`, configured only by
// environment variables, doing a job end to end, and stopping cleanly on SIGTERM.

const run = promisify(execFile);
const sharedPkg = join(import.meta.dirname, "../../shared");
const services = ["gateway", "worker", "status"] as const;

describe.skipIf(skipReason)("bundled services as separate processes", () => {
  let infra: Infra;
  let out: string;
  const procs = new Map<string, { child: ChildProcess; port: number; log: () => string }>();

  beforeAll(async () => {
    infra = await startInfra();
    out = await mkdtemp(join(tmpdir(), "ktsw-bundle-"));
    await Promise.all(
      services.map((s) => run("npm", ["run", "-s", "bundle", "--", s, join(out, s)], { cwd: sharedPkg })),
    );
  });

  afterAll(async () => {
    for (const p of procs.values()) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await infra?.stop();
    if (out) await rm(out, { recursive: true, force: true });
  });

  const env = () => ({
    PATH: process.env.PATH ?? "",
    NATS_URL: infra.nats.url,
    DATABASE_URL: infra.postgres.url,
    REDIS_URL: infra.redis.url,
    OIDC_ISSUER: infra.issuer.issuer,
    OIDC_JWKS_URL: infra.issuer.jwksUrl,
    JOB_ID_SECRET: "bundle-test-job-id-secret-of-32-chars",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
  });

  async function start(service: (typeof services)[number], extra: Record<string, string> = {}) {
    const port = await freePort();
    const child = spawn("node", [join(out, service, "dist/main.mjs")], {
      env: { ...env(), PORT: String(port), METRICS_PORT: String(await freePort()), ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout?.on("data", (b) => {
      log += b;
    });
    child.stderr?.on("data", (b) => {
      log += b;
    });
    procs.set(service, { child, port, log: () => log });
    const exited = () => (child.exitCode === null ? undefined : child.exitCode);
    // An exit is final: fail at once with the log instead of waiting out the deadline.
    await vi.waitFor(
      async () => {
        if (exited() !== undefined) return;
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        if (ready?.status !== 200) throw new Error(`${service} not ready:\n${log}`);
      },
      { timeout: 30_000, interval: 200 },
    );
    if (exited() !== undefined) throw new Error(`${service} exited ${exited()}:\n${log}`);
    return port;
  }

  test("migrate, start all three, run a job, stop each cleanly on SIGTERM", async () => {
    const migrated = await run("node", [join(out, "gateway", "dist/migrate.mjs")], { env: env() });
    // Every migration the package ships, in name order.
    const migrations = readdirSync(join(sharedPkg, "migrations"))
      .filter((f) => f.endsWith(".sql"))
      .sort();
    expect(JSON.parse(migrated.stdout).applied).toEqual(migrations);

    const gw = await start("gateway", { ENSURE_STREAMS: "true" });
    await start("worker");
    const st = await start("status");

    const token = await infra.issuer.issue();
    const res = await fetch(`http://127.0.0.1:${gw}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "wordstats", payload: { text: "bundled and shipped" } }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const status = async () => {
      const r = await fetch(`http://127.0.0.1:${st}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${token}` } });
      return r.status === 200 ? ((await r.json()) as { status: string }).status : `HTTP ${r.status}`;
    };
    await expect.poll(status, { timeout: 20_000 }).toBe("succeeded");
    const page = await fetch(`http://127.0.0.1:${st}/`);
    expect(await page.text()).toMatch(/<title>Task processor/);
    // The page's script and styles ship beside it in the bundle.
    for (const asset of ["/dashboard/app.js", "/dashboard/style.css"])
      expect((await fetch(`http://127.0.0.1:${st}${asset}`)).status, asset).toBe(200);

    for (const [name, p] of procs) {
      const exited = new Promise<number | null>((r) => p.child.once("exit", (code) => r(code)));
      p.child.kill("SIGTERM");
      expect(await exited, `${name}:\n${p.log()}`).toBe(0);
      expect(p.log()).toMatch(/"msg":"stopped cleanly"/);
    }
    expect(procs.get("worker")?.log()).toMatch(/"trace_id":"[0-9a-f]{32}".*"msg":"job succeeded"/);
  });

  test("a service with bad configuration refuses to start and names the variable", async () => {
    const bad = await run("node", [join(out, "worker", "dist/main.mjs")], {
      env: { ...env(), MAX_DELIVER: "lots" },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stderr: string }).stderr).toMatch(/MAX_DELIVER/);
  });
});
