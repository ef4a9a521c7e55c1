import { z } from "zod";
import { MAX_BODY_BYTES, MAX_SLEEP_MS } from "./contracts.ts";

// Every knob comes from the environment and is validated once at start-up: a typo in a Deployment
// fails fast with the variable's name instead of surfacing as a strange runtime error.

const int = (def: number) => z.coerce.number().int().nonnegative().default(def);

export const baseEnv = z.object({
  SERVICE_NAME: z.string().default("task-processor"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  HOST: z.string().default("0.0.0.0"),
  PORT: int(8080),
  // /metrics is served only here, on a listener of its own that no ingress routes to.
  METRICS_PORT: int(9464),
  // How long a client may take to send a whole request (headers and body); then 408.
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1).default(30_000),
  NATS_URL: z.string().min(1).default("nats://127.0.0.1:4222"),
  DATABASE_URL: z.string().min(1).default("postgres://app@127.0.0.1:5432/app"),
  PG_POOL_MAX: int(10),
  JOBS_STREAM: z.string().default("JOBS"),
  DLQ_STREAM: z.string().default("JOBS_DLQ"),
  CONSUMER_NAME: z.string().default("task-worker"),
  DEDUP_WINDOW_MS: int(120_000),
});

export const authEnv = z.object({
  OIDC_ISSUER: z.url(),
  OIDC_JWKS_URL: z.url().optional(),
  OIDC_AUDIENCE: z.string().default("task-api"),
  CLOCK_SKEW_SEC: int(30),
  JWKS_COOLDOWN_MS: int(30_000),
});

export const gatewayEnv = baseEnv.extend({
  ...authEnv.shape,
  // May lower the one size limit of a job, never raise it past what the contract allows.
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1).max(MAX_BODY_BYTES).default(MAX_BODY_BYTES),
  PUBLISH_TIMEOUT_MS: int(3_000),
  // How often the gateway looks for jobs recorded but never published (a gateway died in between);
  // see gateway/src/stranded.ts. With DEDUP_WINDOW_MS it sets when such a job is published again.
  // 0 turns the sweep off (tests that run it by hand).
  STRANDED_SWEEP_MS: int(10_000),
  // Keys the HMAC that turns (token subject, idempotency key) into a job id: without it nobody can
  // compute another caller's job id. The same on every replica; from a Secret, never in Git.
  JOB_ID_SECRET: z.string().min(32, "at least 32 characters of random"),
  // In Kubernetes NACK owns the streams (Stream objects); elsewhere ENSURE_STREAMS=true creates them.
  ENSURE_STREAMS: z.enum(["true", "false"]).default("false"),
  REQUIRED_SCOPE: z.string().default("jobs:write"),
  CORS_ORIGINS: z.string().default(""),
  STATUS_BASE_URL: z.string().default(""),
  RETRY_AFTER_SEC: int(5),
  // `sleep` jobs only hold worker slots: off (0) unless a deployment allows them, up to this long.
  SLEEP_JOB_MAX_MS: z.coerce.number().int().min(0).max(MAX_SLEEP_MS).default(0),
  // Jobs one token subject may have queued or running at once; more is a 429 with Retry-After.
  MAX_ACTIVE_JOBS_PER_SUBJECT: z.coerce.number().int().min(1).default(1_000),
});

export const workerEnv = baseEnv.extend({
  // Jobs at once per worker: deliveries handled together share their claim and completion
  // statements (group commit), so more at once means fewer round trips per job.
  CONCURRENCY: int(32),
  MAX_ACK_PENDING: int(320),
  ACK_WAIT_MS: int(30_000),
  // Runs of a job that may fail (the job's own error) before it is dead-lettered. Infrastructure
  // failures (Postgres or NATS unreachable) never count: they are retried until the dependency is back.
  MAX_DELIVER: int(5),
  BACKOFF_MS: z
    .string()
    .default("1000,5000,15000,30000")
    .transform((s) => s.split(",").map((v) => Number(v.trim())))
    .pipe(z.array(z.number().int().nonnegative()).min(1)),
  FETCH_EXPIRES_MS: int(2_000),
  // A run is announced as "running" once it has lasted this long (0: as it starts). Most runs end
  // sooner, and their watchers see queued → succeeded. This event and the gateway's "queued" for a
  // new job, which nobody could see either, cost about a tenth of the system's CPU per job.
  RUNNING_EVENT_AFTER_MS: z.coerce.number().int().min(0).default(50),
  // The infrastructure circuit breaker: open after this many failures in a row; retries (and the
  // half-open probe) wait INFRA_RETRY_MS, doubling per consecutive failure up to INFRA_RETRY_MAX_MS.
  BREAKER_THRESHOLD: int(5),
  INFRA_RETRY_MS: int(250),
  INFRA_RETRY_MAX_MS: int(15_000),
  // In Kubernetes NACK owns the consumer (a Consumer object); elsewhere the worker creates it.
  ENSURE_CONSUMER: z.enum(["true", "false"]).default("true"),
});

export const statusEnv = baseEnv.extend({
  ...authEnv.shape,
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  CACHE_TTL_SEC: int(3_600),
  ACTIVE_CACHE_TTL_SEC: int(2),
  GATEWAY_PUBLIC_URL: z.string().default(""),
  // /v1/stats answers from one aggregate per this window and replica, however many poll it.
  STATS_CACHE_MS: int(2_000),
  // The dashboard's "Log in" (authorization code + PKCE, in the browser) uses this public client
  // of the issuer the browser sees; empty hides it (paste a token instead).
  DASHBOARD_OIDC_CLIENT_ID: z.string().default(""),
  DASHBOARD_OIDC_ISSUER: z.string().default(""),
  RETRY_AFTER_SEC: int(5),
});

export type GatewayConfig = z.infer<typeof gatewayEnv>;
export type WorkerConfig = z.infer<typeof workerEnv>;
export type StatusConfig = z.infer<typeof statusEnv>;
export type BaseConfig = z.infer<typeof baseEnv>;
export type AuthConfig = z.infer<typeof authEnv>;

export class ConfigError extends Error {}

/** Parses `env` with `schema`; on failure names every bad variable and why. */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}
