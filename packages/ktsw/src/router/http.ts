// The thin HTTP shell of `router apply`: JSON over HTTPS with OPNsense's API key as basic auth,
// the router's own CA or (asked for) no certificate check. Errors say what the user can fix.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface RouterApi {
  get(path: string): Promise<unknown>;
  post(path: string, body?: unknown): Promise<unknown>;
}

export interface ConnectOptions {
  url: string;
  key: string;
  secret: string;
  /** PEM text of the CA that signed the router's certificate. */
  ca?: string;
  insecure?: boolean;
  timeoutMs?: number;
}

/** The router did not answer at all (refused, unreachable, TLS, timeout). */
export class RouterUnreachable extends Error {}
/** The router answered 401/403: the key or secret is wrong or lacks the privilege. */
export class RouterAuthFailed extends Error {}

export function routerApi(o: ConnectOptions): RouterApi {
  const base = new URL(o.url);
  const auth = `Basic ${Buffer.from(`${o.key}:${o.secret}`).toString("base64")}`;
  const send = (method: "GET" | "POST", path: string, body?: unknown) =>
    new Promise<unknown>((done, fail) => {
      const url = new URL(path, base);
      const payload = method === "POST" ? JSON.stringify(body ?? {}) : undefined;
      const request = url.protocol === "https:" ? httpsRequest : httpRequest;
      const req = request(
        url,
        {
          method,
          headers: {
            authorization: auth,
            accept: "application/json",
            ...(payload !== undefined ? { "content-type": "application/json" } : {}),
          },
          ...(url.protocol === "https:" ? { ca: o.ca, rejectUnauthorized: !o.insecure } : {}),
          timeout: o.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if (status === 401 || status === 403) {
              fail(new RouterAuthFailed(`${base.origin} refused the API key (HTTP ${status}): check the key file`));
            } else if (status < 200 || status >= 300) {
              fail(new Error(`${method} ${path}: HTTP ${status} ${text.slice(0, 200)}`));
            } else {
              try {
                done(text ? JSON.parse(text) : {});
              } catch {
                fail(new Error(`${method} ${path}: not JSON: ${text.slice(0, 200)}`));
              }
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (err: NodeJS.ErrnoException) => {
        // Node names certificate problems in err.code (SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_VERIFY_LEAF_SIGNATURE, …).
        const tls = /CERT|SIGNATURE|SELF_SIGNED|ALTNAME/.test(err.code ?? "")
          ? " (the router's certificate is not trusted: pass --ca-file with its CA, or --insecure)"
          : "";
        fail(new RouterUnreachable(`cannot reach the router at ${base.origin}: ${err.message || String(err)}${tls}`));
      });
      req.end(payload);
    });
  return { get: (path) => send("GET", path), post: (path, body) => send("POST", path, body) };
}

/** `key:secret` from an API key file: OPNsense's download (`key=…` and `secret=…` lines) or one `key:secret` line. */
export function parseKeyFile(text: string): { key: string; secret: string } | undefined {
  const pairs = Object.fromEntries(
    text
      .split("\n")
      .map((l) => /^\s*(key|secret)\s*=\s*(\S+)\s*$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  if (pairs.key && pairs.secret) return { key: pairs.key, secret: pairs.secret };
  const line = /^\s*([^:\s]+):(\S+)\s*$/.exec(text.trim());
  return line?.[1] && line[2] ? { key: line[1], secret: line[2] } : undefined;
}
