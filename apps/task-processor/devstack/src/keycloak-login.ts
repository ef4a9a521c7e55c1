import { randomBytes } from "node:crypto";
import type { Browser, Request as BrowserRequest } from "playwright-core";
import { s256 } from "./auth-code.ts";

// A person's login through a real Keycloak: the authorization code flow with PKCE (S256) driven in
// Chromium, Keycloak's own login form filled in, and the code taken off the redirect back to the
// client. The client's redirect URI is its real one (https://tasks.<site>/, Grafana's callback):
// that navigation is answered inside the browser, so nothing needs to serve those hosts here.

export interface CodeFlowClient {
  issuer: string;
  clientId: string;
  redirectUri: string;
  /** confidential clients (Grafana) authenticate at the token endpoint; public ones send none */
  clientSecret?: string;
  scope?: string;
}

export interface TokenAnswer {
  access_token: string;
  id_token?: string;
  scope: string;
}

/** The code the login sent back to the redirect URI, and the verifier that goes with it. */
export interface Authorized {
  code: string;
  verifier: string;
  /** the whole URL the browser was sent to */
  callback: URL;
}

/** Logs `user` in through the login form (a fresh browser context: no session) and returns the code. */
export async function logInThroughKeycloak(
  browser: Browser,
  client: CodeFlowClient,
  user: { username: string; password: string },
): Promise<Authorized> {
  const verifier = randomBytes(48).toString("base64url");
  const state = randomBytes(16).toString("base64url");
  const authorize = new URL(`${client.issuer}/protocol/openid-connect/auth`);
  for (const [k, v] of Object.entries({
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    response_type: "code",
    scope: client.scope ?? "openid",
    state,
    code_challenge: s256(verifier),
    code_challenge_method: "S256",
  }))
    authorize.searchParams.set(k, v);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const back = new Promise<URL>((resolve) => {
      // Only the navigation carrying our state is the answer; a page's own requests under the same
      // prefix (Keycloak's account console loads its resources there) go on as usual.
      const ours = (r: BrowserRequest) =>
        r.isNavigationRequest() &&
        r.url().startsWith(client.redirectUri) &&
        new URL(r.url()).searchParams.get("state") === state;
      // Seen as a request even when the route below does not catch it: Keycloak's redirect to its own
      // account console reaches the page unrouted (the console loads and starts a login of its own,
      // with its own state, so our code stays unspent).
      page.on("request", (r) => {
        if (ours(r)) resolve(new URL(r.url()));
      });
      // An app's address (which does not resolve here) is answered by the route.
      void page.route(
        (u) => u.href.startsWith(client.redirectUri),
        (route) =>
          ours(route.request())
            ? route.fulfill({ status: 200, contentType: "text/plain", body: "signed in" })
            : route.continue(),
      );
    });
    await page.goto(authorize.toString());
    await page.locator("#username").fill(user.username);
    await page.locator("#password").fill(user.password);
    await page.locator("#kc-login").click();
    // Keycloak's login page stays up when the login fails (wrong password, a required action):
    // then its text is the error to report.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void page
          .content()
          .catch((err: unknown) => String(err))
          .then((html) =>
            reject(new Error(`no redirect to ${client.redirectUri} in 20 s; page:\n${html.slice(0, 2_000)}`)),
          );
      }, 20_000);
    });
    const callback = await Promise.race([back, late]).finally(() => clearTimeout(timer));
    if (callback.searchParams.get("state") !== state) throw new Error(`state not returned: ${callback}`);
    const code = callback.searchParams.get("code");
    if (!code) throw new Error(`no code in the redirect: ${callback}`);
    return { code, verifier, callback };
  } finally {
    await context.close();
  }
}

/** The token endpoint's answer to `form` (raw, to look at refusals too). */
export function tokenRequest(client: CodeFlowClient, form: Record<string, string>): Promise<Response> {
  return fetch(`${client.issuer}/protocol/openid-connect/token`, {
    method: "POST",
    body: new URLSearchParams({
      client_id: client.clientId,
      ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
      ...form,
    }),
  });
}

/** Exchanges the code with its verifier, as the client does; throws with Keycloak's answer on refusal. */
export async function exchangeCode(client: CodeFlowClient, got: Authorized): Promise<TokenAnswer> {
  const r = await tokenRequest(client, {
    grant_type: "authorization_code",
    code: got.code,
    redirect_uri: client.redirectUri,
    code_verifier: got.verifier,
  });
  if (!r.ok) throw new Error(`token endpoint refused the code: ${r.status} ${await r.text()}`);
  return (await r.json()) as TokenAnswer;
}
