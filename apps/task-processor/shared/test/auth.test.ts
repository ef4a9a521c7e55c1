import { createServer } from "node:http";
import { createVerifier } from "@ktsw/task-shared/auth";
import { HttpProblem } from "@ktsw/task-shared/problem";
import { describe, expect, test } from "vitest";
import { freePort } from "../../devstack/src/servers.ts";
import { startTokenIssuer } from "../../devstack/src/token-issuer.ts";

// When the identity provider itself cannot be reached, that is our outage (503), not the caller's
// bad token (401).

const settings = (jwksUrl: string) => ({
  issuer: "http://127.0.0.1:1/realms/ktsw",
  jwksUrl,
  audience: "task-api",
  clockSkewSec: 5,
  jwksCooldownMs: 0,
});

async function problemOf(p: Promise<unknown>): Promise<HttpProblem> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HttpProblem) return err;
    throw err;
  }
  throw new Error("expected a problem");
}

describe("token verification when the key set is unavailable", () => {
  test("an unreachable JWKS endpoint → 503 with Retry-After", async () => {
    const issuer = await startTokenIssuer();
    const token = await issuer.issue();
    await issuer.close();
    const verify = createVerifier(settings(`http://127.0.0.1:${await freePort()}/certs`));
    const p = await problemOf(verify(`Bearer ${token}`));
    expect(p.problem.status).toBe(503);
    expect(p.headers["retry-after"]).toBeTruthy();
  });

  test("a JWKS endpoint answering garbage → 503, not 500", async () => {
    const server = createServer((_req, res) => res.end("<html>oops</html>"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const issuer = await startTokenIssuer();
    try {
      const verify = createVerifier(settings(`http://127.0.0.1:${port}/certs`));
      const p = await problemOf(verify(`Bearer ${await issuer.issue()}`));
      expect(p.problem.status).toBe(503);
    } finally {
      server.close();
      await issuer.close();
    }
  });
});
