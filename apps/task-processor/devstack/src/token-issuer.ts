import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { allowedOrigin, authorize, exchange, type PendingCode, type PublicClient } from "./auth-code.ts";

// A development-only OpenID issuer: its own keys, Keycloak's URL layout (discovery, JWKS, the
// authorization and token endpoints of the code flow with PKCE, see auth-code.ts), and a way to
// sign tokens. It stands in for Keycloak in the demo and the tests; never deploy it.

export interface SigningKey {
  kid: string;
  alg: "RS256" | "ES256";
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface IssueOptions {
  sub?: string;
  scope?: string;
  aud?: string | string[];
  iss?: string;
  /** seconds from now; negative makes an expired token */
  expiresIn?: number;
  /** seconds from now before which the token is not valid */
  notBefore?: number;
  alg?: "RS256" | "ES256";
  /** sign with this key instead of the current one (e.g. a key the JWKS does not publish) */
  key?: SigningKey;
  claims?: JWTPayload;
}

export interface TokenIssuer {
  issuer: string;
  jwksUrl: string;
  /** the subject of the tokens the login flow issues */
  devUser: string;
  /** Registers (or replaces) a public client that may log in with the authorization code flow. */
  addClient(client: PublicClient): void;
  issue(opts?: IssueOptions): Promise<string>;
  /** Adds a new current key of `alg` (the previous ones stay published, like Keycloak's rotation). */
  rotate(alg?: "RS256" | "ES256"): Promise<SigningKey>;
  /** A key that is never published, for unknown-kid tests. */
  strayKey(alg?: "RS256" | "ES256"): Promise<SigningKey>;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  close(): Promise<void>;
}

export async function newKey(alg: "RS256" | "ES256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

export interface IssuerOptions {
  port?: number;
  realm?: string;
  audience?: string;
  /** the user the login flow approves at once (there is no login form): the tokens' `sub` */
  devUser?: string;
  /** public clients allowed to log in (more with `addClient`) */
  clients?: PublicClient[];
  /** lifetime of the tokens the login flow issues (Keycloak's accessTokenLifespan; the realm's is 300) */
  accessTokenLifespanSec?: number;
  /** how long an authorization code can be exchanged (Keycloak's accessCodeLifespan, 60 s) */
  codeLifetimeSec?: number;
}

export async function startTokenIssuer(opts: IssuerOptions = {}): Promise<TokenIssuer> {
  const realm = opts.realm ?? "ktsw";
  const audience = opts.audience ?? "task-api";
  const devUser = opts.devUser ?? "dashboard-user";
  const keys: SigningKey[] = [await newKey("RS256"), await newKey("ES256")];
  const clients = new Map((opts.clients ?? []).map((c) => [c.clientId, c]));
  let fetches = 0;
  // Authorization codes waiting to be exchanged, each at most once.
  const codes = new Map<string, PendingCode>();
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res
      .writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
      .end(JSON.stringify(body));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://issuer.invalid");
    const path = url.pathname;
    const oidc = `/realms/${realm}/protocol/openid-connect`;
    if (path === `${oidc}/auth` && req.method === "GET") {
      for (const [code, p] of codes) if (p.expiresAt <= Date.now()) codes.delete(code);
      const out = authorize(url.searchParams, clients, {
        issuer,
        now: Date.now(),
        codeLifetimeMs: (opts.codeLifetimeSec ?? 60) * 1000,
        newCode: () => randomBytes(32).toString("base64url"),
      });
      if (out.kind === "page") {
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8" }).end(out.message);
        return;
      }
      if (out.issued) codes.set(out.issued.code, out.issued.pending);
      res.writeHead(302, { location: out.location }).end();
      return;
    }
    if (path === `${oidc}/token`) {
      // A browser may read the answer only from a registered web origin (Keycloak's webOrigins).
      const origin = allowedOrigin(req.headers.origin, clients.values());
      if (origin) res.setHeader("access-control-allow-origin", origin).setHeader("vary", "origin");
      if (req.method === "OPTIONS") {
        res
          .writeHead(200, {
            "access-control-allow-methods": "POST, OPTIONS",
            "access-control-allow-headers": "content-type, authorization",
            "access-control-max-age": "3600",
          })
          .end();
        return;
      }
      if (req.method !== "POST") {
        json(res, 405, { error: "invalid_request", error_description: "HTTP method not allowed" });
        return;
      }
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => {
        body += c;
        if (body.length > 16_384) req.destroy();
      });
      req.on("end", async () => {
        const form = new URLSearchParams(body);
        const code = form.get("code") ?? "";
        const pending = codes.get(code);
        codes.delete(code);
        const out = exchange(form, pending, clients, Date.now());
        if (!out.ok) {
          json(res, out.status, { error: out.error, error_description: out.description });
          return;
        }
        const lifespan = opts.accessTokenLifespanSec ?? 300;
        // Keycloak puts the realm's default client scopes of the client in `scope`, plus openid if asked.
        const scope = [
          ...(out.pending.scope.split(" ").includes("openid") ? ["openid"] : []),
          "jobs:read",
          "jobs:write",
        ].join(" ");
        const access_token = await self.issue({
          sub: devUser,
          scope,
          expiresIn: lifespan,
          claims: { azp: out.pending.clientId, typ: "Bearer" },
        });
        json(res, 200, { access_token, token_type: "Bearer", expires_in: lifespan, scope, "not-before-policy": 0 });
      });
      return;
    }
    if (path === `${oidc}/certs`) {
      fetches++;
      json(res, 200, { keys: keys.map((k) => k.publicJwk) });
      return;
    }
    if (path === `/realms/${realm}/.well-known/openid-configuration`) {
      // Discovery is public and readable from any origin, as Keycloak serves it.
      res.setHeader("access-control-allow-origin", "*");
      json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
        token_endpoint: `${issuer}/protocol/openid-connect/token`,
        jwks_uri: jwksUrl,
        grant_types_supported: ["authorization_code"],
        response_types_supported: ["code"],
        response_modes_supported: ["query"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: ["none"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256", "ES256"],
        scopes_supported: ["openid", "basic", "jobs:read", "jobs:write"],
        authorization_response_iss_parameter_supported: true,
      });
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const issuer = `http://127.0.0.1:${port}/realms/${realm}`;
  const jwksUrl = `${issuer}/protocol/openid-connect/certs`;
  const current = (alg: "RS256" | "ES256") => [...keys].reverse().find((k) => k.alg === alg) as SigningKey;

  const self: TokenIssuer = {
    issuer,
    jwksUrl,
    devUser,
    addClient(client) {
      clients.set(client.clientId, client);
    },
    async issue(o = {}) {
      const key = o.key ?? current(o.alg ?? "RS256");
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ scope: o.scope ?? "jobs:write jobs:read", azp: "task-dashboard", ...o.claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
        .setIssuer(o.iss ?? issuer)
        .setAudience(o.aud ?? audience)
        .setSubject(o.sub ?? "dev-user")
        .setIssuedAt(now)
        .setJti(randomUUID())
        .setExpirationTime(now + (o.expiresIn ?? 300));
      if (o.notBefore !== undefined) jwt.setNotBefore(now + o.notBefore);
      return jwt.sign(key.privateKey);
    },
    async rotate(alg = "RS256") {
      const k = await newKey(alg);
      keys.push(k);
      return k;
    },
    strayKey: (alg = "RS256") => newKey(alg),
    jwksFetches: () => fetches,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return self;
}
