import { describe, expect, test } from "vitest";
import { sharedFor } from "../src/stats.ts";

describe("stats shared between pollers", () => {
  test("many callers within the window cost one load; after it, one more", async () => {
    let t = 0;
    let loads = 0;
    const get = sharedFor(
      async () => {
        loads += 1;
        return loads;
      },
      2_000,
      () => t,
    );
    const answers = await Promise.all(Array.from({ length: 16 }, () => get()));
    expect(answers).toEqual(Array(16).fill(1));
    t = 1_999;
    expect(await get()).toBe(1);
    t = 2_000;
    expect(await get()).toBe(2);
    expect(loads).toBe(2);
  });

  test("a failed load is not kept: the next caller loads again", async () => {
    let fail = true;
    const get = sharedFor(
      async () => {
        if (fail) throw new Error("db down");
        return "ok";
      },
      60_000,
      () => 0,
    );
    await expect(get()).rejects.toThrow("db down");
    fail = false;
    expect(await get()).toBe("ok");
  });
});
