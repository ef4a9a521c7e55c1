import { randomBytes } from "node:crypto";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exchange, type PublicClient, redirectUriAllowed, s256 } from "../src/auth-code.ts";
import { startTokenIssuer, type TokenIssuer } from "../src/token-issuer.ts";

// The dev issuer's login over HTTP, as a browser and a dashboard drive it: the authorization code
// flow with PKCE S256 only, answered with Keycloak's error codes.

const DASHBOARD = "http://dashboard.test:8080";
const client: PublicClient = {
  clientId: "task-dashboard",
  redirectUris: [`${DASHBOARD}/*`],
  webOrigins: [DASHBOARD],
};

describe("dev token issuer: authorization code flow with PKCE", () => {
  let issuer: TokenIssuer;
  const endpoint = (name: string) => `${issuer.issuer}/protocol/openid-connect/${name}`;

  beforeAll(async () => {
    issuer = await startTokenIssuer({ clients: [client] });
  });
  afterAll(async () => {
    await issuer?.close();
  });

  /** The authorization request a dashboard sends; `over` replaces or (undefined) drops a parameter. */
  function authorizeUrl(verifier: string, over: Record<string, string | undefined> = {}) {
    const params: Record<string, string | undefined> = {
      client_id: client.clientId,
      response_type: "code",
      redirect_uri: `${DASHBOARD}/`,
      scope: "openid",
      state: "st-123",
      code_challenge: s256(verifier),
      code_challenge_method: "S256",
      ...over,
    };
    const url = new URL(endpoint("auth"));
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  /** Follows nothing: the issuer's answer to the browser's authorization request. */
  const authorizeRaw = (url: URL) => fetch(url, { redirect: "manual" });

  async function codeFor(verifier: string): Promise<string> {
    const res = await authorizeRaw(authorizeUrl(verifier));
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get("location") as string);
    return back.searchParams.get("code") as string;
  }

  const redeem = (form: Record<string, string>, origin = DASHBOARD) =>
    fetch(endpoint("token"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: client.clientId,
        redirect_uri: `${DASHBOARD}/`,
        ...form,
      }),
    });

  const verifier = () => randomBytes(32).toString("base64url");

  test("discovery names Keycloak's endpoints and PKCE S256 only, readable from any origin", async () => {
    const res = await fetch(`${issuer.issuer}/.well-known/openid-configuration`);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(await res.json()).toMatchObject({
      issuer: issuer.issuer,
      authorization_endpoint: `${issuer.issuer}/protocol/openid-connect/auth`,
      token_endpoint: `${issuer.issuer}/protocol/openid-connect/token`,
      jwks_uri: `${issuer.issuer}/protocol/openid-connect/certs`,
      code_challenge_methods_supported: ["S256"],
    });
  });

  test("the dev user is approved at once: back to the redirect URI with code, state and iss, then a token", async () => {
    const v = verifier();
    const res = await authorizeRaw(authorizeUrl(v));
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get("location") as string);
    expect(`${back.origin}${back.pathname}`).toBe(`${DASHBOARD}/`);
    expect(back.searchParams.get("state")).toBe("st-123");
    expect(back.searchParams.get("iss")).toBe(issuer.issuer);
    const token = await redeem({ code: back.searchParams.get("code") as string, code_verifier: v });
    expect(token.status).toBe(200);
    expect(token.headers.get("access-control-allow-origin")).toBe(DASHBOARD);
    expect(token.headers.get("cache-control")).toBe("no-store");
    const body = (await token.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 300 });
    expect(decodeJwt(body.access_token)).toMatchObject({
      iss: issuer.issuer,
      sub: issuer.devUser,
      aud: "task-api",
      azp: "task-dashboard",
      scope: "openid jobs:read jobs:write",
    });
  });

  test("a wrong code_verifier → 400 invalid_grant, and the code is spent by it", async () => {
    const v = verifier();
    const code = await codeFor(v);
    const wrong = await redeem({ code, code_verifier: verifier() });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({
      error: "invalid_grant",
      error_description: "PKCE verification failed: Code mismatch",
    });
    const late = await redeem({ code, code_verifier: v });
    expect(late.status).toBe(400);
    expect(((await late.json()) as { error: string }).error).toBe("invalid_grant");
  });

  test("a code works once: the second exchange is refused", async () => {
    const v = verifier();
    const code = await codeFor(v);
    expect((await redeem({ code, code_verifier: v })).status).toBe(200);
    const again = await redeem({ code, code_verifier: v });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: "invalid_grant", error_description: "Code not valid" });
  });

  test("no verifier, or a different redirect_uri at the token endpoint → invalid_grant", async () => {
    const v = verifier();
    const none = await redeem({ code: await codeFor(v) });
    expect(await none.json()).toMatchObject({
      error: "invalid_grant",
      error_description: "PKCE code verifier not specified",
    });
    const moved = await redeem({ code: await codeFor(v), code_verifier: v, redirect_uri: `${DASHBOARD}/elsewhere` });
    expect(await moved.json()).toMatchObject({ error: "invalid_grant", error_description: "Incorrect redirect_uri" });
  });

  test("a redirect_uri the client did not register gets an error page, never a redirect", async () => {
    for (const uri of ["http://evil.test/", "http://dashboard.test:8081/", `${DASHBOARD}/#frag`]) {
      const res = await authorizeRaw(authorizeUrl(verifier(), { redirect_uri: uri }));
      expect(res.status, uri).toBe(400);
      expect(res.headers.get("location"), uri).toBeNull();
      expect(await res.text()).toBe("Invalid parameter: redirect_uri");
    }
    const unknown = await authorizeRaw(authorizeUrl(verifier(), { client_id: "someone-else" }));
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toBe("Client not found.");
  });

  test("PKCE is required and S256 only: plain or a missing method is sent back as invalid_request", async () => {
    const cases: [Record<string, string | undefined>, string][] = [
      [
        { code_challenge_method: "plain" },
        "Invalid parameter: code challenge method is not matching the configured one",
      ],
      [{ code_challenge_method: undefined }, "Missing parameter: code_challenge_method"],
      [{ code_challenge: undefined }, "Missing parameter: code_challenge"],
    ];
    for (const [over, description] of cases) {
      const res = await authorizeRaw(authorizeUrl(verifier(), over));
      expect(res.status).toBe(302);
      const back = new URL(res.headers.get("location") as string);
      expect(back.searchParams.get("code")).toBeNull();
      expect(back.searchParams.get("error")).toBe("invalid_request");
      expect(back.searchParams.get("error_description")).toBe(description);
      expect(back.searchParams.get("state")).toBe("st-123");
    }
  });

  test("the token endpoint lets only the client's web origins read its answer", async () => {
    const preflight = await fetch(endpoint("token"), { method: "OPTIONS", headers: { origin: DASHBOARD } });
    expect(preflight.headers.get("access-control-allow-origin")).toBe(DASHBOARD);
    const v = verifier();
    const foreign = await redeem({ code: await codeFor(v), code_verifier: v }, "http://evil.test");
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("authorization codes and redirect URIs (pure)", () => {
  const clients = new Map([[client.clientId, client]]);
  const v = randomBytes(32).toString("base64url");
  const pending = {
    clientId: client.clientId,
    redirectUri: `${DASHBOARD}/`,
    challenge: s256(v),
    scope: "openid",
    expiresAt: 1_000,
  };
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    client_id: client.clientId,
    code: "c",
    redirect_uri: `${DASHBOARD}/`,
    code_verifier: v,
  });

  test("a code past its lifetime is not valid", () => {
    expect(exchange(form, pending, clients, 999)).toMatchObject({ ok: true });
    expect(exchange(form, pending, clients, 1_000)).toMatchObject({ ok: false, error: "invalid_grant" });
  });

  test("redirect URIs match exactly, or by prefix where registered with a trailing *", () => {
    expect(redirectUriAllowed("https://a.test/cb", ["https://a.test/cb"])).toBe(true);
    expect(redirectUriAllowed("https://a.test/cb2", ["https://a.test/cb"])).toBe(false);
    expect(redirectUriAllowed("https://a.test/x/y?z=1", ["https://a.test/*"])).toBe(true);
    expect(redirectUriAllowed("https://a.test.evil/", ["https://a.test/*"])).toBe(false);
  });
});
