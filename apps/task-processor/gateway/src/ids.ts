import { createHmac, randomUUID } from "node:crypto";

/**
 * A job id. With an idempotency key it is derived from (caller, key) under the gateway's secret
 * (HMAC-SHA-256 keyed with JOB_ID_SECRET), so a retried POST gets the same id — and the same
 * Nats-Msg-Id, which JetStream deduplicates — two callers using the same key never collide, and
 * nobody without the secret can compute another caller's id from a guessed key. The MAC is shaped
 * as an RFC 9562 version-8 (custom) UUID.
 */
export function jobId(secret: string, subject: string, idempotencyKey?: string): string {
  if (!idempotencyKey) return randomUUID();
  const h = createHmac("sha256", secret).update(`${subject}\n${idempotencyKey}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x80;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
