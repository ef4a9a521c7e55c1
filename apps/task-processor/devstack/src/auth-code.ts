import { createHash } from "node:crypto";

// The dev issuer's login: OAuth 2.0 authorization code flow with PKCE (RFC 7636), answering the
// way Keycloak answers a public client whose `pkce.code.challenge.method` is S256 — the same
// parameters, the same error codes and descriptions — so the dashboard meets no surprise in
// production. Pure functions: request parameters in, outcome out; token-issuer.ts does the HTTP.

/** A public client of the realm, as the realm import declares it. */
export interface PublicClient {
  clientId: string;
  /** exact URIs, or a prefix ending in `*` (Keycloak's wildcard) */
  redirectUris: string[];
  /** origins allowed to call the token endpoint from a browser */
  webOrigins: string[];
}

/** An authorization code waiting to be exchanged (once, before `expiresAt`). */
export interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  expiresAt: number;
}

export type AuthorizeOutcome =
  /** Nothing trustworthy to redirect to (unknown client, unregistered redirect_uri): an error page. */
  | { kind: "page"; message: string }
  | { kind: "redirect"; location: string; issued?: { code: string; pending: PendingCode } };

export type ExchangeOutcome =
  | { ok: true; pending: PendingCode }
  | { ok: false; status: 400 | 401; error: string; description: string };

// RFC 7636 §4.1: 43 to 128 characters of the unreserved set; a challenge (base64url SHA-256) too.
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** Keycloak's matching: a registered URI ending in `*` is a prefix, any other must match exactly. */
export function redirectUriAllowed(uri: string, patterns: string[]): boolean {
  if (uri.includes("#")) return false;
  return patterns.some((p) => (p.endsWith("*") ? uri.startsWith(p.slice(0, -1)) : uri === p));
}

export const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");

/**
 * `GET …/protocol/openid-connect/auth`: validates the request and, for the configured dev user
 * (approved at once: there is no login form), issues a code bound to the client, the redirect URI
 * and the challenge. Errors that can be sent back to a registered redirect URI go there, with the
 * state, as RFC 6749 §4.1.2.1 says; the others are an error page.
 */
export function authorize(
  q: URLSearchParams,
  clients: ReadonlyMap<string, PublicClient>,
  opts: { issuer: string; now: number; codeLifetimeMs: number; newCode: () => string },
): AuthorizeOutcome {
  const client = clients.get(q.get("client_id") ?? "");
  if (!client) return { kind: "page", message: "Client not found." };
  const redirectUri = q.get("redirect_uri") ?? "";
  if (!redirectUriAllowed(redirectUri, client.redirectUris))
    return { kind: "page", message: "Invalid parameter: redirect_uri" };
  const back = (params: Record<string, string>) => {
    const url = new URL(redirectUri);
    const state = q.get("state");
    for (const [k, v] of Object.entries({ ...params, ...(state ? { state } : {}), iss: opts.issuer }))
      url.searchParams.set(k, v);
    return url.toString();
  };
  const fail = (error: string, description: string): AuthorizeOutcome => ({
    kind: "redirect",
    location: back({ error, error_description: description }),
  });
  if (q.get("response_type") !== "code")
    return fail(
      "unsupported_response_type",
      "Client is not allowed to initiate browser login with given response_type. Standard flow is enabled only.",
    );
  const method = q.get("code_challenge_method");
  const challenge = q.get("code_challenge");
  if (!challenge) return fail("invalid_request", "Missing parameter: code_challenge");
  if (!method) return fail("invalid_request", "Missing parameter: code_challenge_method");
  if (method !== "S256")
    return fail("invalid_request", "Invalid parameter: code challenge method is not matching the configured one");
  if (!PKCE_VALUE.test(challenge)) return fail("invalid_request", "Invalid parameter: code_challenge");
  const code = opts.newCode();
  const pending: PendingCode = {
    clientId: client.clientId,
    redirectUri,
    challenge,
    scope: q.get("scope") ?? "",
    expiresAt: opts.now + opts.codeLifetimeMs,
  };
  return { kind: "redirect", location: back({ code }), issued: { code, pending } };
}

/**
 * `POST …/protocol/openid-connect/token` with grant_type=authorization_code. `pending` is what the
 * code stood for, already taken out of the store: a code is spent by its first presentation,
 * whatever the outcome, so a replayed or guessed-at code never works twice.
 */
export function exchange(
  form: URLSearchParams,
  pending: PendingCode | undefined,
  clients: ReadonlyMap<string, PublicClient>,
  now: number,
): ExchangeOutcome {
  const no = (status: 400 | 401, error: string, description: string): ExchangeOutcome => ({
    ok: false,
    status,
    error,
    description,
  });
  if (form.get("grant_type") !== "authorization_code")
    return no(400, "unsupported_grant_type", "Unsupported grant_type");
  const clientId = form.get("client_id") ?? "";
  if (!clients.has(clientId)) return no(401, "invalid_client", "Invalid client or Invalid client credentials");
  if (!form.get("code")) return no(400, "invalid_request", "Missing parameter: code");
  if (!pending || pending.expiresAt <= now) return no(400, "invalid_grant", "Code not valid");
  if (pending.clientId !== clientId) return no(400, "invalid_grant", "Auth error");
  if (form.get("redirect_uri") !== pending.redirectUri) return no(400, "invalid_grant", "Incorrect redirect_uri");
  const verifier = form.get("code_verifier");
  if (!verifier) return no(400, "invalid_grant", "PKCE code verifier not specified");
  if (!PKCE_VALUE.test(verifier)) return no(400, "invalid_grant", "PKCE verification failed: Invalid code verifier");
  if (s256(verifier) !== pending.challenge) return no(400, "invalid_grant", "PKCE verification failed: Code mismatch");
  return { ok: true, pending };
}

/** The origin a browser may read a token answer from: one of some client's web origins, else none. */
export function allowedOrigin(origin: string | undefined, clients: Iterable<PublicClient>): string | undefined {
  if (!origin) return undefined;
  for (const c of clients) if (c.webOrigins.includes(origin)) return origin;
  return undefined;
}
