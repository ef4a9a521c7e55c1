import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";
import type { AuthConfig } from "./config.ts";
import { HttpProblem, problem, unavailable } from "./problem.ts";

export interface AuthSettings {
  issuer: string;
  /** Defaults to Keycloak's layout: `<issuer>/protocol/openid-connect/certs`. */
  jwksUrl?: string;
  audience: string;
  clockSkewSec: number;
  jwksCooldownMs: number;
  /** how many verified tokens to remember for their lifetime (0: verify every time) */
  verifiedTokenCacheSize?: number;
}

export interface Principal {
  sub: string;
  scopes: Set<string>;
  claims: JWTPayload;
}

// Only asymmetric algorithms: `none` and HS256 (which would let a public key act as an HMAC secret)
// never reach signature checking.
export const ALLOWED_ALGS = ["RS256", "ES256"];

const unauthorized = (detail: string) =>
  new HttpProblem(
    { type: "about:blank", title: "Unauthorized", status: 401, detail },
    { "www-authenticate": `Bearer error="invalid_token", error_description="${detail.replace(/"/g, "'")}"` },
  );

export type Verifier = (authorization: string | undefined) => Promise<Principal>;

/**
 * Verifies bearer tokens against the issuer's JWKS. jose caches the key set and refetches it when a
 * token names a `kid` it has not seen (at most once per cooldown), so key rotation needs no restart.
 * A token that verified is remembered for its lifetime (`VerifiedTokens`): a client sends the same
 * token with every request, and checking its signature again each time was the gateway's largest
 * single cost.
 */
export function createVerifier(s: AuthSettings, now: () => number = Date.now): Verifier {
  const jwksUrl = new URL(s.jwksUrl ?? `${s.issuer.replace(/\/$/, "")}/protocol/openid-connect/certs`);
  const jwks = createRemoteJWKSet(jwksUrl, { cooldownDuration: s.jwksCooldownMs, timeoutDuration: 3_000 });
  const verified = new VerifiedTokens(s.verifiedTokenCacheSize ?? 10_000, s.clockSkewSec, now);
  return async (authorization) => {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization?.trim() ?? "");
    if (!match?.[1]) throw unauthorized("missing bearer token (Authorization: Bearer <JWT>)");
    const token = match[1];
    const known = verified.get(token);
    if (known) return known;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: s.issuer,
        audience: s.audience,
        algorithms: ALLOWED_ALGS,
        clockTolerance: s.clockSkewSec,
        requiredClaims: ["exp", "sub"],
      });
      const scopes = new Set(typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : []);
      const principal = { sub: payload.sub ?? "", scopes, claims: payload };
      verified.set(token, principal);
      return principal;
    } catch (err) {
      throw toProblem(err);
    }
  };
}

/**
 * Tokens that passed verification, each until it expires (exp plus the clock skew jwtVerify allows).
 * The token's bytes are the key, so a hit is exactly the token that was verified: signature,
 * issuer, audience and algorithm cannot differ. A token that is not yet valid (nbf) was refused and
 * is never here. Failures are not remembered: a refused token costs a verification every time,
 * as before. Bounded: past `maxEntries` the oldest entry goes (Map keeps insertion order).
 * What this gives up is what any JWT gives up: a key withdrawn from the JWKS keeps the tokens it
 * signed valid here until they expire (Keycloak's access tokens live minutes).
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, { principal: Principal; untilMs: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly clockSkewSec: number,
    private readonly now: () => number,
  ) {}

  get(token: string): Principal | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (this.now() < entry.untilMs) return entry.principal;
    this.entries.delete(token);
    return undefined;
  }

  set(token: string, principal: Principal): void {
    if (this.maxEntries <= 0 || typeof principal.claims.exp !== "number") return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(token, { principal, untilMs: (principal.claims.exp + this.clockSkewSec) * 1000 });
  }
}

/** The verifier a service's OIDC_* settings describe. */
export const verifierFor = (c: AuthConfig): Verifier =>
  createVerifier({
    issuer: c.OIDC_ISSUER,
    jwksUrl: c.OIDC_JWKS_URL,
    audience: c.OIDC_AUDIENCE,
    clockSkewSec: c.CLOCK_SKEW_SEC,
    jwksCooldownMs: c.JWKS_COOLDOWN_MS,
  });

function toProblem(err: unknown): HttpProblem {
  if (err instanceof errors.JWTExpired) return unauthorized("token expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    const what = err.claim === "nbf" ? "token not yet valid" : `token claim '${err.claim}' rejected: ${err.reason}`;
    return unauthorized(what);
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return unauthorized(`signing algorithm not allowed (only ${ALLOWED_ALGS.join(", ")})`);
  if (err instanceof errors.JWKSNoMatchingKey) return unauthorized("token signed by an unknown key");
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthorized("signature verification failed");
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return unavailable("the identity provider's key set", 5, err.code);
  }
  // jose reports a JWKS endpoint answering non-200 or non-JSON as a generic error naming the key set.
  if (err instanceof errors.JOSEError && err.code === "ERR_JOSE_GENERIC" && /JSON Web Key Set/.test(err.message)) {
    return unavailable("the identity provider's key set", 5, err.message);
  }
  if (err instanceof errors.JOSEError) return unauthorized(`invalid token (${err.code})`);
  // fetch() failing to reach the JWKS endpoint is our dependency being down, not a bad token.
  if (err instanceof TypeError) return unavailable("the identity provider's key set", 5, err.message);
  return unauthorized("invalid token");
}

/**
 * Whose jobs a token acts on: its subject. Jobs are recorded with it (`submitted_by`) and only it
 * reads them back; a tenant claim is not used, as Keycloak issues none to this realm's clients.
 */
export const ownerOf = (p: Principal): string => p.sub;

export function requireScope(p: Principal, scope: string): void {
  if (!p.scopes.has(scope)) throw problem(403, "Forbidden", `token lacks the '${scope}' scope`);
}

/** 403 unless the token carries at least one of `scopes`. */
export function requireAnyScope(p: Principal, scopes: string[]): void {
  if (!scopes.some((s) => p.scopes.has(s))) {
    throw problem(
      403,
      "Forbidden",
      `token lacks a scope allowing this (one of ${scopes.map((s) => `'${s}'`).join(", ")})`,
    );
  }
}
