import { issuePointers, jobStatus } from "@ktsw/task-shared/contracts";
import { problem } from "@ktsw/task-shared/problem";
import { z } from "zod";

// `GET /v1/jobs?limit=N&status=S`: the caller's newest jobs. The limit is bounded so one request
// never reads more than MAX_LIST_LIMIT rows; an unknown parameter is refused, not ignored, so a
// typo (`?stauts=failed`) does not silently list everything.

export const MAX_LIST_LIMIT = 100;
export const DEFAULT_LIST_LIMIT = 20;

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT),
  status: jobStatus.optional(),
});
export type ListQuery = z.infer<typeof listQuery>;

/** The validated query, or a 400 problem naming each bad parameter by JSON pointer. */
export function parseListQuery(query: unknown): ListQuery {
  const parsed = listQuery.safeParse(query ?? {});
  if (parsed.success) return parsed.data;
  const errors = issuePointers(parsed.error);
  const listed = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
  throw problem(400, "Invalid query", `the query does not match GET /v1/jobs: ${listed}`, { errors });
}
