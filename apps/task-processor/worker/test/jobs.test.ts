import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { hashRounds, JobFailed, runJob, wordStats } from "../src/jobs.ts";

describe("job handlers", () => {
  test("hash: one round is plain SHA-256 (FIPS 180-2 vector for 'abc')", () => {
    expect(hashRounds("abc", 1)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  test("hash: each further round hashes the previous digest's bytes", () => {
    const once = createHash("sha256").update("abc").digest();
    expect(hashRounds("abc", 2)).toBe(createHash("sha256").update(once).digest("hex"));
  });

  test("wordstats counts words, unique words, lines and the most frequent words", () => {
    const s = wordStats("The cat sat.\nThe cat ran; the END");
    expect(s.words).toBe(8);
    expect(s.uniqueWords).toBe(5);
    expect(s.lines).toBe(2);
    expect(s.top[0]).toEqual({ word: "the", count: 3 });
    expect(s.top[1]).toEqual({ word: "cat", count: 2 });
  });

  test("wordstats of an empty text is all zeros", () => {
    expect(wordStats("")).toMatchObject({ words: 0, uniqueWords: 0, lines: 0, averageWordLength: 0, top: [] });
  });

  test("fail fails its first `times` attempts, then recovers", async () => {
    const job = { type: "fail" as const, payload: { reason: "boom", times: 2 } };
    await expect(runJob(job, { attempt: 1 })).rejects.toBeInstanceOf(JobFailed);
    await expect(runJob(job, { attempt: 2 })).rejects.toThrow(/boom \(attempt 2\)/);
    await expect(runJob(job, { attempt: 3 })).resolves.toEqual({ recoveredAfter: 2 });
  });

  test("fail without `times` never succeeds", async () => {
    await expect(runJob({ type: "fail", payload: { reason: "always" } }, { attempt: 99 })).rejects.toThrow(/always/);
  });
});
