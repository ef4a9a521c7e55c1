import { z } from "zod";

// The one message contract every service agrees on: the gateway validates requests with it, the
// worker parses JetStream messages with it, the status service parses NATS status events with it.

export const MAX_TEXT_CHARS = 50_000;

const hashJob = z.object({
  type: z.literal("hash"),
  payload: z.strictObject({
    data: z.string().max(MAX_TEXT_CHARS),
    rounds: z.number().int().min(1).max(200_000),
  }),
});

const wordStatsJob = z.object({
  type: z.literal("wordstats"),
  payload: z.strictObject({ text: z.string().max(MAX_TEXT_CHARS) }),
});

// `fail` exists for tests and demos: it fails `times` deliveries (default: every one), so retries,
// backoff and the dead-letter path can be watched on a real stream.
const failJob = z.object({
  type: z.literal("fail"),
  payload: z.strictObject({
    reason: z.string().max(200).default("deliberate failure"),
    times: z.number().int().min(1).max(100).optional(),
  }),
});

// `sleep` is a long job: it outlives ack_wait, so it proves the in-progress heartbeats work.
const sleepJob = z.object({
  type: z.literal("sleep"),
  payload: z.strictObject({ ms: z.number().int().min(0).max(600_000) }),
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

/** What a client POSTs to /v1/jobs. */
export const jobRequest = z.intersection(jobSpec, z.object({ idempotencyKey: idempotencyKey.optional() }));
export type JobRequest = z.infer<typeof jobRequest>;

/** What travels on the JOBS stream (subject `jobs.<type>`). */
export const jobMessage = z.intersection(
  jobSpec,
  z.object({
    id: z.uuid(),
    submittedBy: z.string().max(256),
    submittedAt: z.iso.datetime(),
  }),
);
export type JobMessage = z.infer<typeof jobMessage>;

/** Contract violations as problem documents list them: a JSON pointer to the field and what is wrong. */
export const issuePointers = (error: z.ZodError) =>
  error.issues.map((i) => ({ path: `/${i.path.join("/")}`, message: i.message }));

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

/** A status transition, published on core NATS subject `events.jobs.<id>`. */
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
  event: (id: string) => `events.jobs.${id}`,
  eventsAll: "events.jobs.>",
} as const;
