import { initTracing } from "@ktsw/task-shared/tracing";
import { freePort, isListening, type RunningServer, startNats, startPostgres, startRedis } from "./servers.ts";
import { startServices } from "./stack.ts";
import { startTokenIssuer } from "./token-issuer.ts";

// `npm run demo`: the whole task processor on this machine. Servers given by NATS_URL /
// DATABASE_URL / REDIS_URL are used as they are; the others are started from the installed
// binaries in temp dirs (on their usual ports when free). Ctrl-C stops everything it started.

const freeOnly = process.env.DEMO_FREE_PORTS === "1";
const started: RunningServer[] = [];
let stopServices: (() => Promise<void>) | undefined;
let closeIssuer: (() => Promise<void>) | undefined;

async function portFor(preferred: number): Promise<number> {
  if (!freeOnly && !(await isListening(preferred))) return preferred;
  return freePort();
}

async function server(envUrl: string | undefined, preferred: number, start: (port: number) => Promise<RunningServer>) {
  if (envUrl) return envUrl;
  const s = await start(await portFor(preferred));
  started.push(s);
  console.log(`  started ${s.name.padEnd(8)} ${s.url}  (data in ${s.dir}, removed on exit)`);
  return s.url;
}

async function shutdown(code: number): Promise<never> {
  console.log("\nstopping the demo…");
  await stopServices?.().catch(() => {});
  await closeIssuer?.().catch(() => {});
  await Promise.allSettled(started.map((s) => s.stop()));
  console.log("stopped everything the demo started.");
  process.exit(code);
}

// Ctrl-C reaches npm and this process alike: act on the first signal and ignore any repeat instead
// of dying half-way through the clean-up. `npm run demo` runs node with tsx as a loader, not the
// tsx command: that one SIGKILLs its child when the child has not acknowledged a signal within
// 60 ms, which a busy machine can miss, leaving the clean-up undone.
let stopping = false;
const onSignal = () => {
  if (stopping) return;
  stopping = true;
  void shutdown(0);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

try {
  initTracing();
  console.log("task-processor demo: starting dependencies");
  const natsUrl = await server(process.env.NATS_URL, 4222, startNats);
  const databaseUrl = await server(process.env.DATABASE_URL, 5432, startPostgres);
  const redisUrl = await server(process.env.REDIS_URL, 6379, startRedis);
  const issuer = await startTokenIssuer();
  closeIssuer = issuer.close;
  console.log(`  started dev token issuer ${issuer.issuer} (development only: stands in for Keycloak)`);

  const ports = { status: await portFor(8080), gateway: await portFor(8081), worker: await portFor(8082) };
  const statusOrigin = `http://127.0.0.1:${ports.status}`;
  const statusOrigins = [statusOrigin, `http://localhost:${ports.status}`];
  // The dashboard logs in as the realm's public client does (realm-import.yaml): its own pages only.
  issuer.addClient({
    clientId: "task-dashboard",
    redirectUris: statusOrigins.map((o) => `${o}/*`),
    webOrigins: statusOrigins,
  });
  const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
  const svc = await startServices(
    { natsUrl, databaseUrl, redisUrl, issuer: issuer.issuer, jwksUrl: issuer.jwksUrl },
    {
      ports,
      logLevel: process.env.DEMO_LOG_LEVEL ?? "warn",
      env: {
        // Quick retries so a `fail` job reaches the dead-letter stream while you watch.
        MAX_DELIVER: process.env.MAX_DELIVER ?? "3",
        BACKOFF_MS: process.env.BACKOFF_MS ?? "500,2000",
        CORS_ORIGINS: statusOrigins.join(","),
        GATEWAY_PUBLIC_URL: gatewayUrl,
        DASHBOARD_OIDC_CLIENT_ID: "task-dashboard",
        STATUS_BASE_URL: statusOrigin,
        // How long pollers share one /v1/stats answer (the service's default unless set).
        ...(process.env.STATS_CACHE_MS ? { STATS_CACHE_MS: process.env.STATS_CACHE_MS } : {}),
      },
    },
  );
  stopServices = svc.stop;
  // For the shell example only: the dashboard gets its own token by logging in, and keeps it in memory.
  const token = await issuer.issue({ sub: issuer.devUser, expiresIn: 8 * 3600 });
  const dashboard = `${statusOrigin}/`;
  console.log(`
  gateway  ${gatewayUrl}   POST /v1/jobs, POST /v1/jobs/:id/replay
  status   ${statusOrigin}   GET /v1/jobs, GET /v1/jobs/:id, WebSocket /v1/ws, /v1/stats
  worker   http://127.0.0.1:${ports.worker}   /healthz /readyz
  (each service also serves /healthz and /readyz; /metrics only on its internal metrics port:
   ${Object.values(svc.metricsUrls).join("  ")})

Dashboard: ${dashboard}
  "Log in" signs in through the dev issuer as user "${issuer.devUser}" (approved at once, no password:
  it stands in for Keycloak's login page).

Try it from a shell, as the same user (the token is valid for 8 hours):
  curl -s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
       -d '{"type":"wordstats","payload":{"text":"no magic boxes"}}' ${gatewayUrl}/v1/jobs
  with TOKEN=${token}

Press Ctrl-C to stop everything.`);
  if (process.env.DEMO_MACHINE_READABLE === "1")
    console.log(
      `DEMO_READY ${JSON.stringify({ dashboard, gatewayUrl, statusUrl: statusOrigin, workerUrl: `http://127.0.0.1:${ports.worker}`, token, devUser: issuer.devUser })}`,
    );
} catch (err) {
  console.error(`demo failed to start: ${(err as Error).message}`);
  await shutdown(1);
}
