import { createHash, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

// A development-only OpenID issuer: its own keys, a Keycloak-shaped JWKS URL, and a way to sign
// tokens. It stands in for Keycloak in the demo and the tests; never deploy it.

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

export async function startTokenIssuer(
  opts: { port?: number; realm?: string; audience?: string } = {},
): Promise<TokenIssuer> {
  const realm = opts.realm ?? "ktsw";
  const audience = opts.audience ?? "task-api";
  const keys: SigningKey[] = [await newKey("RS256"), await newKey("ES256")];
  let fetches = 0;
  // Authorization codes waiting to be exchanged (the login flow auto-approves: there is one user).
  const codes = new Map<string, { challenge: string; redirectUri: string; clientId: string }>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://issuer.invalid");
    const path = url.pathname;
    const oidc = `/realms/${realm}/protocol/openid-connect`;
    if (path === `${oidc}/auth`) {
      const q = url.searchParams;
      const redirectUri = q.get("redirect_uri") ?? "";
      if (
        q.get("response_type") !== "code" ||
        q.get("code_challenge_method") !== "S256" ||
        !q.get("code_challenge") ||
        !redirectUri
      ) {
        res.statusCode = 400;
        res.end("authorization code flow with PKCE (S256) only");
        return;
      }
      const code = randomUUID();
      codes.set(code, { challenge: q.get("code_challenge") ?? "", redirectUri, clientId: q.get("client_id") ?? "" });
      const back = new URL(redirectUri);
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.get("state") ?? "");
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (path === `${oidc}/token` && req.method === "OPTIONS") {
      res.writeHead(204, { "access-control-allow-origin": "*", "access-control-allow-headers": "content-type" }).end();
      return;
    }
    if (path === `${oidc}/token` && req.method === "POST") {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", async () => {
        const form = new URLSearchParams(body);
        const pending = codes.get(form.get("code") ?? "");
        codes.delete(form.get("code") ?? "");
        const verifier = form.get("code_verifier") ?? "";
        const ok =
          pending &&
          form.get("grant_type") === "authorization_code" &&
          form.get("redirect_uri") === pending.redirectUri &&
          createHash("sha256").update(verifier).digest("base64url") === pending.challenge;
        res.setHeader("access-control-allow-origin", "*");
        res.setHeader("content-type", "application/json");
        if (!ok) {
          res.statusCode = 400;
          res.end(JSON.stringify({ error: "invalid_grant" }));
          return;
        }
        const access_token = await this_.issue({ sub: "dashboard-user", claims: { azp: pending.clientId } });
        res.end(JSON.stringify({ access_token, token_type: "Bearer", expires_in: 300 }));
      });
      return;
    }
    if (path === `/realms/${realm}/protocol/openid-connect/certs`) {
      fetches++;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
      return;
    }
    if (path === `/realms/${realm}/.well-known/openid-configuration`) {
      res.setHeader("content-type", "application/json");
      res.setHeader("access-control-allow-origin", "*");
      res.end(
        JSON.stringify({
          issuer,
          jwks_uri: jwksUrl,
          authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
          token_endpoint: `${issuer}/protocol/openid-connect/token`,
          code_challenge_methods_supported: ["S256"],
          id_token_signing_alg_values_supported: ["RS256", "ES256"],
        }),
      );
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

  const this_: TokenIssuer = {
    issuer,
    jwksUrl,
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
  return this_;
}
