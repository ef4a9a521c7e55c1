import { describe, expect, it } from "vitest";
import { pullSize } from "../src/worker.ts";

// How many messages the worker's fetch loop pulls: whole quarters of its slots at least, so a
// pull (a subscription and a request) is never paid for a single job under full load.

describe("the worker's pull size", () => {
  it("pulls every free slot while a quarter or more of them are free", () => {
    expect(pullSize(32, 0)).toBe(32);
    expect(pullSize(32, 24)).toBe(8);
    expect(pullSize(4, 3)).toBe(1);
  });

  it("waits for more jobs to finish while fewer than a quarter of the slots are free", () => {
    expect(pullSize(32, 25)).toBe(0);
    expect(pullSize(32, 31)).toBe(0);
    expect(pullSize(32, 32)).toBe(0);
  });

  it("a worker of one slot pulls one message whenever it is free", () => {
    expect(pullSize(1, 0)).toBe(1);
    expect(pullSize(1, 1)).toBe(0);
  });
});
