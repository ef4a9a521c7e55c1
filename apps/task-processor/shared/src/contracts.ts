import { z } from "zod";

// The one message contract every service agrees on: the gateway validates requests with it, the
// worker parses JetStream messages with it, the status service parses NATS status events with it.

/**
 * The one size limit of a job: its request body, in bytes (the gateway's BODY_LIMIT_BYTES may only
 * lower it). A string field has no limit of its own: a JSON body is never shorter in bytes than the
 * UTF-16 length of any string it carries, so this bound on strings is only ever reached by a message
 * that did not come through the gateway.
 */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Text PostgreSQL can store: jsonb and text refuse U+0000, and a lone surrogate is no Unicode at
 * all. Refused here, at the door, as the client's mistake, rather than failing the INSERT later
 * (which reads as a database outage).
 */
// With the u flag a paired surrogate is one astral code point, so only a lone one is in category Cs.
const LONE_SURROGATE = /\p{Cs}/u;
export const storableText = (max = MAX_BODY_BYTES) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes("\u0000"), "must not contain U+0000 (NUL)")
    .refine((s) => !LONE_SURROGATE.test(s), "must be well-formed Unicode (no lone surrogate)");

const hashJob = z.object({
  type: z.literal("hash"),
  payload: z.strictObject({
    data: storableText(),
    rounds: z.number().int().min(1).max(200_000),
  }),
});

const wordStatsJob = z.object({
  type: z.literal("wordstats"),
  payload: z.strictObject({ text: storableText() }),
});

// `fail` exists for tests and demos: it fails `times` deliveries (default: every one), so retries,
// backoff and the dead-letter path can be watched on a real stream.
const failJob = z.object({
  type: z.literal("fail"),
  payload: z.strictObject({
    reason: storableText(200).default("deliberate failure"),
    times: z.number().int().min(1).max(100).optional(),
  }),
});

// `sleep` is a long job: it outlives ack_wait, so it proves the in-progress heartbeats work. It
// only holds a worker slot, so a deployment allows it up to its gateway's SLEEP_JOB_MAX_MS (0: off).
export const MAX_SLEEP_MS = 60_000;
const sleepJob = z.object({
  type: z.literal("sleep"),
  payload: z.strictObject({ ms: z.number().int().min(0).max(MAX_SLEEP_MS) }),
});

export const jobSpec = z.discriminatedUnion("type", [hashJob, wordStatsJob, failJob, sleepJob]);
export type JobSpec = z.infer<typeof jobSpec>;
export type JobType = JobSpec["type"];
export const JOB_TYPES = ["hash", "wordstats", "fail", "sleep"] as const satisfies readonly JobType[];

const idempotencyKey = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, "only letters, digits and . _ : -");

/** A job spec that also takes an idempotency key, and nothing else. */
const requestOf = <S extends z.ZodRawShape>(job: z.ZodObject<S>) =>
  z.strictObject({ ...job.shape, idempotencyKey: idempotencyKey.optional() });

/**
 * What a client POSTs to /v1/jobs: a job spec plus an optional idempotency key. An unknown
 * top-level field is refused by name, never silently dropped.
 */
export const jobRequest = z.discriminatedUnion("type", [
  requestOf(hashJob),
  requestOf(wordStatsJob),
  requestOf(failJob),
  requestOf(sleepJob),
]);
export type JobRequest = z.infer<typeof jobRequest>;

/** What the gateway adds to a request to make a message: the job's id, who submitted it, and when. */
const envelopeShape = {
  id: z.uuid(),
  submittedBy: storableText(256),
  submittedAt: z.iso.datetime(),
};
export const jobEnvelope = z.object(envelopeShape);

/**
 * What travels on the JOBS stream (subject `jobs.<type>`): a job spec with its envelope. One object
 * per job type rather than the intersection of `jobSpec` and `jobEnvelope`: the same contract,
 * parsed in one pass (an intersection parses both halves and then merges them, for every message).
 */
const messageOf = <S extends z.ZodRawShape>(job: z.ZodObject<S>) => job.extend(envelopeShape);
export const jobMessage = z.discriminatedUnion("type", [
  messageOf(hashJob),
  messageOf(wordStatsJob),
  messageOf(failJob),
  messageOf(sleepJob),
]);
export type JobMessage = z.infer<typeof jobMessage>;

/** An RFC 6901 JSON pointer ("" is the whole document; `~` and `/` in a name are escaped). */
export const jsonPointer = (path: readonly PropertyKey[]) =>
  path.map((p) => `/${String(p).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");

/**
 * Contract violations as problem documents list them: a JSON pointer to the field and what is
 * wrong. An unknown field gets its own pointer, so each one is named.
 */
export const issuePointers = (error: z.ZodError) =>
  error.issues.flatMap((i) =>
    i.code === "unrecognized_keys"
      ? i.keys.map((k) => ({ path: jsonPointer([...i.path, k]), message: "unknown field" }))
      : [{ path: jsonPointer(i.path), message: i.message }],
  );

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed"] as const;
export const jobStatus = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof jobStatus>;
export const isTerminal = (s: JobStatus): boolean => s === "succeeded" || s === "failed";

/** A job as the status API shows it. */
export const jobView = z.object({
  id: z.uuid(),
  type: z.string(),
  status: jobStatus,
  attempts: z.number().int(),
  result: z.unknown().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type JobView = z.infer<typeof jobView>;

/** A status transition, published on core NATS subject `events.jobs.<id>.<status>`. */
export const jobEvent = z.object({
  id: z.uuid(),
  type: z.string(),
  status: jobStatus,
  attempt: z.number().int().min(0),
  at: z.iso.datetime(),
  error: z.string().optional(),
  result: z.unknown().optional(),
});
export type JobEvent = z.infer<typeof jobEvent>;

export const SUBJECTS = {
  jobs: (type: string) => `jobs.${type}`,
  jobsAll: "jobs.>",
  deadLetter: (type: string) => `dlq.jobs.${type}`,
  deadLetterAll: "dlq.jobs.>",
  // The status is in the subject so a listener can take just the transitions it wants
  // (`events.jobs.*.succeeded`) instead of parsing all three of every job.
  event: (id: string, status: JobStatus) => `events.jobs.${id}.${status}`,
  /** One job's transitions: what a status replica subscribes to for a job it has a use for. */
  eventsOf: (id: string) => `events.jobs.${id}.*`,
  eventsAll: "events.jobs.>",
  // A finished job taken back to work (a replay): announced apart from its events, so that every status replica can
  // drop a cached copy (any replica may hold one, dead ones included) without receiving every job's events.
  reopened: (id: string) => `events.reopened.${id}`,
  reopenedAll: "events.reopened.*",
  eventsWithStatus: (status: JobStatus) => `events.jobs.*.${status}`,
} as const;

/** The job id a reopen announcement's subject (`events.reopened.<id>`) names, or undefined for any other subject. */
export function reopenedSubjectId(subject: string): string | undefined {
  const parts = subject.split(".");
  return parts.length === 3 && parts[0] === "events" && parts[1] === "reopened" ? parts[2] : undefined;
}

/** The job id an event subject (`events.jobs.<id>.<status>`) names, or undefined for any other subject. */
export function eventSubjectId(subject: string): string | undefined {
  const parts = subject.split(".");
  return parts.length === 4 && parts[0] === "events" && parts[1] === "jobs" ? parts[2] : undefined;
}
