import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, test } from "vitest";
import { createHttpApp } from "../src/http.ts";
import { createLogger } from "../src/logger.ts";
import { closeWithin } from "../src/service.ts";

// A stopping service closes its HTTP server: requests in flight may finish, but a connection that
// never lets go (a client that stopped reading, a request that never ends) cannot hold the process.

function appWithLogs() {
  const lines: { msg: string; open_connections?: number }[] = [];
  const logger = createLogger("close-within-test", "warn", { write: (l: string) => lines.push(JSON.parse(l)) });
  const app = createHttpApp(logger);
  return { app, lines, logger };
}

describe("closeWithin", () => {
  test("with nothing in flight the server closes at once, nothing cut", async () => {
    const { app, lines, logger } = appWithLogs();
    app.get("/ok", async () => "ok");
    await app.listen({ host: "127.0.0.1", port: 0 });
    await (await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/ok`)).text();
    await closeWithin(app, 60_000, logger);
    expect(lines.filter((l) => /grace period/.test(l.msg))).toEqual([]);
  });

  test("a request that never ends is cut after the grace period, and the close completes", async () => {
    const { app, lines, logger } = appWithLogs();
    let arrived = () => {};
    const inFlight = new Promise<void>((r) => {
      arrived = r;
    });
    app.get("/never", (_req, _reply) => {
      arrived();
      return new Promise(() => {}); // never answers
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const client = request(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/never`);
    const cut = new Promise<string>((resolve) => {
      client.on("error", (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
    });
    client.end();
    await inFlight;
    await closeWithin(app, 200, logger);
    expect(lines.find((l) => /grace period/.test(l.msg))?.open_connections).toBe(1);
    expect(await cut).toBe("ECONNRESET");
  });
});
