import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { launchChromium, chromiumMissing as whyMissingChromium } from "../src/chromium.ts";
import { isListening } from "../src/servers.ts";
import { skipReason } from "../src/testkit.ts";

// `npm run demo` exactly as a person runs it, the dashboard driven in real headless Chromium,
// and Ctrl-C (SIGINT to the whole process group) stopping everything it started.

const chromiumMissing = whyMissingChromium();
if (chromiumMissing) console.warn(`\n!!! dashboard browser test SKIPPED: ${chromiumMissing}\n`);
const repoRoot = join(import.meta.dirname, "../../../..");

interface Ready {
  dashboard: string;
  gatewayUrl: string;
  statusUrl: string;
  workerUrl: string;
  token: string;
  devUser: string;
}

interface Demo {
  process: ChildProcess;
  ready: Ready;
  output(): string;
  /** Ctrl-C to the whole process group, as a terminal sends it; resolves with the exit code. */
  interrupt(): Promise<number | null>;
}

/** `npm run demo` as a person runs it, in a process group of its own, once it says it is ready. */
async function startDemo(): Promise<Demo> {
  const child = spawn("npm", ["run", "demo"], {
    cwd: repoRoot,
    detached: true,
    env: {
      ...process.env,
      DEMO_FREE_PORTS: "1",
      DEMO_MACHINE_READABLE: "1",
      BACKOFF_MS: "200,400",
      // The page test counts exact deltas in /v1/stats: with the shared 2 s answer, the count taken
      // before the jobs could be one from a moment earlier. Sharing is tested in status/test/stats.test.ts.
      STATS_CACHE_MS: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  // "close", not "exit": by then everything the demo printed has been read.
  const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
  const interrupt = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGINT");
      } catch {
        // already gone
      }
    }
    return exited;
  };
  try {
    const ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo not ready in 60 s:\n${output}`)), 60_000);
      const onData = (b: Buffer) => {
        output += b.toString();
        const m = /^DEMO_READY (.+)$/m.exec(output);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(JSON.parse(m[1]));
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      void exited.then((code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
    });
    return { process: child, ready, output: () => output, interrupt };
  } catch (err) {
    await interrupt();
    throw err;
  }
}

const jobRow = (page: Page, id: string) => page.locator(`#jobs tr[data-job-id="${id}"]`);
const deadLetter = (page: Page, id: string) => page.locator(`#dead-letters tr[data-job-id="${id}"]`);

/**
 * Logs in from the page as a person does: "Log in", away to the issuer's authorization endpoint
 * and back with ?code=…, exchanged with the PKCE verifier. Resolves with the access token the
 * token endpoint gave the page (read off the wire), to look for it where it must not be.
 */
async function logIn(page: Page): Promise<string> {
  const tokenAnswer = page.waitForResponse((r) => r.url().endsWith("/protocol/openid-connect/token"), {
    timeout: 15_000,
  });
  await page.locator("#login").click();
  const body = (await (await tokenAnswer).json()) as { access_token: string };
  await expect.poll(() => page.locator("#message").textContent(), { timeout: 15_000 }).toMatch(/^logged in as /);
  await page.locator('#conn[data-state="open"]').waitFor({ timeout: 15_000 });
  return body.access_token;
}

/** The token is in the page's memory only: not in the URL, an input, a cookie or web storage. */
async function expectTokenNowhere(page: Page, token: string): Promise<void> {
  const traces = await page.evaluate(() => ({
    href: location.href,
    inputs: Array.from(document.querySelectorAll("input, textarea, select"), (e) => (e as HTMLInputElement).value),
    storage: [localStorage, sessionStorage].flatMap((s) =>
      Array.from({ length: s.length }, (_, i) => `${s.key(i)}=${s.getItem(s.key(i) as string)}`),
    ),
    cookie: document.cookie,
  }));
  expect(traces.href).not.toContain(token);
  expect(traces.href).not.toMatch(/[?#&](code|token|access_token)=/);
  for (const v of traces.inputs) expect(v).not.toContain(token);
  // Nothing token-like at all: a JWT starts with the base64url of '{"' (eyJ).
  expect(traces.storage.filter((kv) => kv.includes(token) || kv.includes("eyJ"))).toEqual([]);
  expect(traces.cookie).not.toContain(token);
}

/** Submits a job from the form; its id, from the gateway's answer to the page. */
async function submitFromPage(page: Page, type: string, payload?: unknown): Promise<string> {
  await page.selectOption("#type", type);
  if (payload !== undefined) await page.fill("#payload", JSON.stringify(payload));
  const answer = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/v1/jobs"), {
    timeout: 10_000,
  });
  await page.click("#submit");
  const { id } = (await (await answer).json()) as { id: string };
  await expect.poll(() => page.locator("#message").textContent(), { timeout: 10_000 }).toBe(`accepted ${id}`);
  return id;
}

// playwright gives Chromium a fresh temporary profile of its own on every launch, and each test a
// fresh context (no cookies, no storage) of its own.
describe.skipIf(skipReason ?? chromiumMissing)("demo + dashboard in Chromium", () => {
  let demo: Demo;
  let ready: Ready;
  let browser: Browser;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    demo = await startDemo();
    ready = demo.ready;
    browser = await launchChromium();
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.interrupt();
  });

  async function freshPage(): Promise<Page> {
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(ready.dashboard);
    return page;
  }

  test("log in with the code flow + PKCE, submit jobs and watch them move to succeeded and failed", async () => {
    const page = await freshPage();
    const consoleErrors: string[] = [];
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    // The counts are the demo's since it started: other tests on this page's demo add theirs.
    const before = (
      (await (
        await fetch(`${ready.statusUrl}/v1/stats`, { headers: { authorization: `Bearer ${ready.token}` } })
      ).json()) as { counts: Record<string, number> }
    ).counts;
    expect(await page.locator("#login").isVisible()).toBe(true);
    const token = await logIn(page);
    expect(page.url()).toBe(ready.dashboard);
    expect(decodeJwt(token)).toMatchObject({ sub: ready.devUser, aud: "task-api", azp: "task-dashboard" });
    expect(await page.locator("#user").textContent()).toBe(ready.devUser);

    const hash = await submitFromPage(page, "hash");
    await jobRow(page, hash).and(page.locator('[data-status="succeeded"]')).waitFor({ timeout: 15_000 });
    expect(await jobRow(page, hash).locator(".result").textContent()).toMatch(/"digest":"[0-9a-f]{16}/);
    const words = await submitFromPage(page, "wordstats");
    await jobRow(page, words).and(page.locator('[data-status="succeeded"]')).waitFor({ timeout: 15_000 });
    const fail = await submitFromPage(page, "fail");
    await jobRow(page, fail).and(page.locator('[data-status="failed"]')).waitFor({ timeout: 20_000 });
    expect(await jobRow(page, fail).locator(".attempt").textContent()).toBe("3");

    // Bad input from the page gets the gateway's problem detail shown, and no row.
    const rowsBefore = await page.locator("#jobs tr").count();
    await page.selectOption("#type", "hash");
    await page.fill("#payload", '{"data": 5}');
    await page.click("#submit");
    await expect
      .poll(() => page.locator("#message").textContent(), { timeout: 10_000 })
      .toMatch(/^400 Invalid job request/);
    expect(await page.locator("#jobs tr").count()).toBe(rowsBefore);

    // The stats panel polls /v1/stats: three more finished jobs, one of them failed, queue drained.
    await expect
      .poll(() => page.locator("#count-failed").textContent(), { timeout: 10_000 })
      .toBe(String((before.failed ?? 0) + 1));
    expect(await page.locator("#count-succeeded").textContent()).toBe(String((before.succeeded ?? 0) + 2));
    expect(await page.locator("#queue-depth").textContent()).toBe("0");
    await expectTokenNowhere(page, token);
    await page.screenshot({ path: join(tmpdir(), "ktsw-task-dashboard.png"), fullPage: true });
    expect(
      consoleErrors.filter((e) => !/400/.test(e)),
      consoleErrors.join("\n"),
    ).toEqual([]);
  });

  test("a reload forgets the token; after logging in again the jobs are listed from the API", async () => {
    const page = await freshPage();
    await logIn(page);
    const id = await submitFromPage(page, "wordstats");
    await jobRow(page, id).and(page.locator('[data-status="succeeded"]')).waitFor({ timeout: 15_000 });

    await page.reload();
    await expect.poll(() => page.locator("#jobs tr").count()).toBe(0);
    expect(await page.locator("#login").isVisible()).toBe(true);
    expect(await page.locator("body").getAttribute("data-auth")).toBe("out");

    const token = await logIn(page);
    // Nothing was submitted from this page since the reload: the row comes from GET /v1/jobs.
    await jobRow(page, id).and(page.locator('[data-status="succeeded"]')).waitFor({ timeout: 10_000 });
    expect(await jobRow(page, id).locator(".type").textContent()).toBe("wordstats");
    await expectTokenNowhere(page, token);

    // Log out forgets the token and what it showed.
    await page.locator("#logout").click();
    expect(await page.locator("#jobs tr").count()).toBe(0);
    expect(await page.locator("#login").isVisible()).toBe(true);
    expect(await page.locator("#conn").getAttribute("data-state")).toBe("closed");
  });

  test("clicking a job shows its detail, kept up to date over the WebSocket", async () => {
    const page = await freshPage();
    await logIn(page);
    const id = await submitFromPage(page, "sleep", { ms: 1500 });
    await jobRow(page, id).click();
    const detail = page.locator("#detail");
    await expect.poll(() => detail.getAttribute("data-job-id")).toBe(id);
    expect(["queued", "running"]).toContain(await detail.getAttribute("data-status"));
    // No click since: the transitions reach the open detail by themselves.
    await expect.poll(() => detail.getAttribute("data-status"), { timeout: 15_000 }).toBe("succeeded");
    expect(await detail.locator('[data-field="attempts"]').textContent()).toBe("1");
    expect(await detail.locator('[data-field="result"]').textContent()).toMatch(/"slept"/);
    expect(await detail.locator('[data-field="trail"]').textContent()).toMatch(/running → succeeded$/);
  });

  test("a failed job is listed in Dead letters with its reason; Replay puts it back on the queue", async () => {
    const page = await freshPage();
    await logIn(page);
    const id = await submitFromPage(page, "fail", { reason: "replay me" });
    await deadLetter(page, id).waitFor({ timeout: 20_000 });
    expect(await deadLetter(page, id).locator(".reason").textContent()).toMatch(/replay me/);

    // Also listed after a reload, from GET /v1/jobs?status=failed.
    await page.reload();
    await logIn(page);
    await deadLetter(page, id).waitFor({ timeout: 10_000 });

    await deadLetter(page, id).locator("button.replay").click();
    await expect.poll(() => page.locator("#message").textContent(), { timeout: 10_000 }).toBe(`replayed ${id}`);
    // The row shows the job go back to the queue and run again (a `fail` job fails again; its runs
    // are too short to be announced as running).
    await expect
      .poll(() => jobRow(page, id).locator(".trail").textContent(), { timeout: 20_000 })
      .toMatch(/^failed → queued.* → failed$/);
    await deadLetter(page, id).waitFor({ timeout: 10_000 });
    const view = (await (
      await fetch(`${ready.statusUrl}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${ready.token}` } })
    ).json()) as { status: string; attempts: number };
    expect(view).toMatchObject({ status: "failed", attempts: 3 });
  });

  test("when the token expires the page asks to log in again", async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    // The page's clock, so five minutes (the token's lifetime) pass at once.
    await page.clock.install();
    await page.goto(ready.dashboard);
    await logIn(page);
    await page.clock.fastForward("05:01");
    await expect.poll(() => page.locator("#message").textContent()).toMatch(/log in again/);
    expect(await page.locator("#login").isVisible()).toBe(true);
    expect(await page.locator("body").getAttribute("data-auth")).toBe("out");
    expect(await page.locator("#conn").getAttribute("data-state")).toBe("closed");
  });
});

// Ctrl-C ends the demo: it gets a demo of its own, so the tests above never find theirs gone.
describe.skipIf(skipReason)("demo Ctrl-C", () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemo();
  });
  afterAll(async () => {
    await demo?.interrupt();
  });

  test("Ctrl-C stops the services and every server the demo started", async () => {
    const { ready } = demo;
    const ports = [ready.gatewayUrl, ready.statusUrl, ready.workerUrl].map((u) => Number(new URL(u).port));
    await demo.interrupt();
    const output = demo.output();
    expect(output).toMatch(/stopped everything the demo started/);
    const serverPorts = [...output.matchAll(/started \w+\s+\w+:\/\/[^:]+:(\d+)/g)].map((m) => Number(m[1]));
    expect(serverPorts).toHaveLength(3);
    // The demo waits for each server to exit before it says so; a socket may take a moment to close.
    for (const p of [...ports, ...serverPorts]) await expect.poll(() => isListening(p), { timeout: 5_000 }).toBe(false);
    const dirs = [...output.matchAll(/data in (\S+),/g)].map((m) => m[1] as string);
    expect(dirs).toHaveLength(3);
    for (const d of dirs) expect(existsSync(d)).toBe(false);
  });
});
