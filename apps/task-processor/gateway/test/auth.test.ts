import { skipReason, useStack } from "@ktsw/task-devstack/testkit";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { describe, expect, test } from "vitest";

// Every way a bearer token can be wrong, against a real issuer with a real JWKS endpoint:
// each gets a 401 or 403 problem document, never a 500, and nothing is queued.

const job = { type: "hash", payload: { data: "auth", rounds: 1 } };

describe.skipIf(skipReason)("gateway authentication", () => {
  // JWKS_COOLDOWN_MS=0 lets the rotation test refetch at once; production keeps jose's 30 s.
  const s = useStack({ env: { JWKS_COOLDOWN_MS: "0", CLOCK_SKEW_SEC: "5" } });

  /** POSTs a job with `authorization`: a `status` problem matching `detail`, and nothing stored or queued. */
  async function expectRejected(authorization: string | undefined, status: number, detail: RegExp) {
    const res = await s.storesNothing(() => post(authorization));
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as { status: number; title: string; detail: string };
    expect(body.status).toBe(status);
    expect(body.detail).toMatch(detail);
    if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
  }

  const post = (authorization?: string) =>
    fetch(`${s.svc.gatewayUrl}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(job),
    });

  test("a valid RS256 token with jobs:write is accepted", async () => {
    const res = await s.submit(job, { token: await s.token({ alg: "RS256" }) });
    expect(res.status).toBe(202);
  });

  test("a valid ES256 token is accepted too", async () => {
    const res = await s.submit(job, { token: await s.token({ alg: "ES256" }) });
    expect(res.status).toBe(202);
  });

  test("no Authorization header → 401", async () => {
    await expectRejected(undefined, 401, /missing bearer token/);
  });

  test("a non-Bearer scheme → 401", async () => {
    await expectRejected("Basic dXNlcjpwYXNz", 401, /missing bearer token/);
  });

  test("garbage instead of a JWT → 401", async () => {
    await expectRejected("Bearer not.a.jwt", 401, /invalid token|signature/);
  });

  test("an expired token → 401 (beyond the clock skew)", async () => {
    await expectRejected(`Bearer ${await s.token({ expiresIn: -60 })}`, 401, /expired/);
  });

  test("a token expired within the allowed clock skew is still accepted", async () => {
    const res = await post(`Bearer ${await s.token({ expiresIn: -2 })}`);
    expect(res.status).toBe(202);
  });

  test("a not-yet-valid token (nbf in the future) → 401", async () => {
    await expectRejected(`Bearer ${await s.token({ notBefore: 120 })}`, 401, /not yet valid/);
  });

  test("the wrong audience → 401", async () => {
    await expectRejected(`Bearer ${await s.token({ aud: "account" })}`, 401, /'aud'/);
  });

  test("the wrong issuer → 401", async () => {
    await expectRejected(`Bearer ${await s.token({ iss: "https://evil.example/realms/ktsw" })}`, 401, /'iss'/);
  });

  test("a token without the jobs:write scope → 403", async () => {
    await expectRejected(`Bearer ${await s.token({ scope: "jobs:read profile" })}`, 403, /jobs:write/);
  });

  test("alg=none is rejected → 401", async () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${enc({ alg: "none", typ: "JWT" })}.${enc({ iss: s.infra.issuer.issuer, aud: "task-api", sub: "x", scope: "jobs:write", exp: now + 60 })}.`;
    await expectRejected(`Bearer ${unsigned}`, 401, /algorithm not allowed|invalid token/);
  });

  test("HS256 signed with the issuer's public key (algorithm confusion) → 401", async () => {
    const jwks = (await (await fetch(s.infra.issuer.jwksUrl)).json()) as { keys: { kid: string; kty: string }[] };
    const rsa = jwks.keys.find((k) => k.kty === "RSA");
    expect(rsa).toBeDefined();
    // The attacker's trick: use the public key's bytes as an HMAC secret and name its kid.
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const secret = new TextEncoder().encode(await exportSPKI(publicKey));
    const forged = await new SignJWT({ scope: "jobs:write" })
      .setProtectedHeader({ alg: "HS256", kid: rsa?.kid })
      .setIssuer(s.infra.issuer.issuer)
      .setAudience("task-api")
      .setSubject("mallory")
      .setExpirationTime("5m")
      .sign(secret);
    await expectRejected(`Bearer ${forged}`, 401, /algorithm not allowed/);
  });

  test("a token signed by a key the issuer never published (unknown kid) → 401", async () => {
    const stray = await s.infra.issuer.strayKey("RS256");
    await expectRejected(`Bearer ${await s.token({ key: stray })}`, 401, /unknown key/);
  });

  test("a tampered payload fails signature verification → 401", async () => {
    const [h, p, sig] = (await s.token()).split(".");
    const claims = JSON.parse(Buffer.from(p as string, "base64url").toString());
    claims.sub = "someone-else";
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${sig}`;
    await expectRejected(`Bearer ${tampered}`, 401, /signature/);
  });

  test("key rotation: a token with a new kid makes the gateway refetch the JWKS and accept it", async () => {
    expect((await s.submit(job)).status).toBe(202); // key set cached
    const before = s.infra.issuer.jwksFetches();
    const rotated = await s.infra.issuer.rotate("RS256");
    const res = await post(`Bearer ${await s.token({ key: rotated })}`);
    expect(res.status).toBe(202);
    expect(s.infra.issuer.jwksFetches()).toBeGreaterThan(before);
  });

  test("a token whose sub is longer than a job can record → 400 at the door, nothing queued", async () => {
    // The worker parses every message with the shared contract (submittedBy ≤ 256 characters) and
    // dead-letters what breaks it; the gateway parses with the same contract, so it refuses first.
    const token = await s.token({ sub: "s".repeat(300) });
    const res = await s.storesNothing(() => s.submit(job, { token }));
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as { title: string; detail: string; errors: { path: string; message: string }[] };
    expect(body.title).toBe("Invalid job message");
    expect(body.detail).toMatch(/token's subject \(sub\)/);
    expect(body.errors).toEqual([{ path: "/submittedBy", message: expect.stringMatching(/256/) }]);
  });
});
