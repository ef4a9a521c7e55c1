import { issuePointers, type JobMessage, type JobRequest, jobEnvelope } from "@ktsw/task-shared/contracts";
import { problem } from "@ktsw/task-shared/problem";
import { jobId } from "./ids.ts";

// The door checks a job with the very contract the workers parse it with: a message the gateway
// would queue but a worker would dead-letter as poison is refused here, with the reason. The spec
// was checked already, as the request (`jobRequest` is made of the same job schemas): what is
// left to check is the envelope the gateway adds.

// Where each part of the message comes from that the caller can change: the body is checked as a
// request first, so what is left to break the contract is what the token supplies.
const ORIGIN: Record<string, string> = { submittedBy: "the token's subject (sub)" };

/**
 * The JetStream message for an accepted request, its envelope parsed with `jobEnvelope`; throws a 400 problem
 * naming what breaks the contract (e.g. a token subject longer than a job records).
 */
export function toJobMessage(request: JobRequest, submittedBy: string, now: Date, idSecret: string): JobMessage {
  const { idempotencyKey, ...spec } = request;
  const parsed = jobEnvelope.safeParse({
    id: jobId(idSecret, submittedBy, idempotencyKey),
    submittedBy,
    submittedAt: now.toISOString(),
  });
  if (parsed.success) return { ...spec, ...parsed.data };
  const reasons = parsed.error.issues.map((i) => `${ORIGIN[String(i.path[0])] ?? i.path.join(".")}: ${i.message}`);
  throw problem(
    400,
    "Invalid job message",
    `the job this request makes breaks the job contract: ${reasons.join("; ")}`,
    {
      errors: issuePointers(parsed.error),
    },
  );
}
