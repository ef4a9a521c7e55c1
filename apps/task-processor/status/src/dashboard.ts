import { readFile } from "node:fs/promises";
import type { StatusConfig } from "@ktsw/task-shared/config";
import type { FastifyInstance, FastifyReply } from "fastify";

// The dashboard's files and the little it needs to know (/config.json): where the gateway is and
// which issuer and public client to log in with. The page runs only its own script and talks only
// to this service, the gateway and the issuer; it is never framed and leaks no URL (which carries
// the authorization code on the way back from the issuer) in a Referer.

const DIR = new URL("./dashboard/", import.meta.url);
const FILES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};

export interface DashboardConfig {
  gatewayUrl: string;
  oidc: { issuer: string; clientId: string } | null;
}

/** What `/config.json` tells the page; no login (null) when no dashboard client is configured. */
export function dashboardConfig(config: StatusConfig): DashboardConfig {
  return {
    gatewayUrl: config.GATEWAY_PUBLIC_URL,
    oidc: config.DASHBOARD_OIDC_CLIENT_ID
      ? { issuer: config.DASHBOARD_OIDC_ISSUER || config.OIDC_ISSUER, clientId: config.DASHBOARD_OIDC_CLIENT_ID }
      : null,
  };
}

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin;
  } catch {
    return undefined; // empty: same origin
  }
};

/** The Content-Security-Policy of the dashboard's pages: its own files, and fetches to `config`'s origins. */
export function contentSecurityPolicy(config: DashboardConfig): string {
  const origins = [config.gatewayUrl, config.oidc?.issuer ?? ""].map(originOf).filter(Boolean);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self' ${[...new Set(origins)].join(" ")}`.trim(),
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export async function installDashboard(app: FastifyInstance, config: StatusConfig): Promise<void> {
  const settings = dashboardConfig(config);
  const csp = contentSecurityPolicy(settings);
  const files = new Map<string, string>();
  for (const name of Object.keys(FILES)) files.set(name, await readFile(new URL(name, DIR), "utf8"));
  const send = (name: string) => async (_req: unknown, reply: FastifyReply) =>
    reply
      .type(FILES[name] as string)
      .header("content-security-policy", csp)
      .header("referrer-policy", "no-referrer")
      .header("x-content-type-options", "nosniff")
      .header("cache-control", "no-cache")
      .send(files.get(name));
  app.get("/", send("index.html"));
  app.get("/dashboard/app.js", send("app.js"));
  app.get("/dashboard/style.css", send("style.css"));
  app.get("/favicon.ico", async (_req, reply) => reply.code(204).send());
  app.get("/config.json", async (_req, reply) => reply.header("cache-control", "no-store").send(settings));
}
