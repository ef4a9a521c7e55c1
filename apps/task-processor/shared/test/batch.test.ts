import { batched } from "@ktsw/task-shared/batch";
import { describe, expect, test } from "vitest";

// The group commit of the hot path: what is asked for together goes out together, each caller
// gets its own answer, and nothing waits that need not.

function recorder<I, O>(answer: (items: I[]) => O[]) {
  const batches: I[][] = [];
  const held: (() => void)[] = [];
  let hold = false;
  const run = async (items: I[]) => {
    batches.push(items);
    if (hold) await new Promise<void>((r) => held.push(r));
    return answer(items);
  };
  return {
    batches,
    run,
    holdNext: () => {
      hold = true;
    },
    /** Lets every held batch return. */
    release: () => {
      hold = false;
      for (const r of held.splice(0)) r();
    },
  };
}

describe("batched", () => {
  test("calls made in one turn go out as one batch; each caller gets its own result, in order", async () => {
    const r = recorder((items: number[]) => items.map((n) => n * 10));
    const f = batched(r.run, { maxItems: 100, maxInFlight: 1 });
    expect(await Promise.all([f(1), f(2), f(3)])).toEqual([10, 20, 30]);
    expect(r.batches).toEqual([[1, 2, 3]]);
  });

  test("calls made while a batch is in flight wait for it and then leave together", async () => {
    const r = recorder((items: number[]) => items);
    const f = batched(r.run, { maxItems: 100, maxInFlight: 1 });
    r.holdNext();
    const first = f(1);
    await expect.poll(() => r.batches.length).toBe(1);
    const later = [f(2), f(3), f(4)];
    r.release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3, 4]);
    expect(r.batches).toEqual([[1], [2, 3, 4]]);
  });

  test("a batch never waits to fill: with a slot free a call leaves on the next turn, and calls held back leave the moment a batch before them returns", async () => {
    // What keeps latency at half load low: no linger timer adds its wait to every job.
    const turn = () => new Promise<void>((r) => setImmediate(r));
    const microtasks = async () => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };
    const r = recorder((items: number[]) => items);
    const f = batched(r.run, { maxItems: 100, maxInFlight: 2 });
    r.holdNext();
    const first = f(1);
    await turn();
    expect(r.batches).toEqual([[1]]);
    // The second slot is free: no waiting for the first batch or for more calls.
    const second = f(2);
    await turn();
    expect(r.batches).toEqual([[1], [2]]);
    const held = [f(3), f(4)];
    await turn();
    expect(r.batches).toHaveLength(2);
    r.release();
    await first;
    // Within the turn the batches returned in: no timer, not even the next turn.
    await microtasks();
    expect(r.batches).toEqual([[1], [2], [3, 4]]);
    expect(await Promise.all([second, ...held])).toEqual([2, 3, 4]);
  });

  test("a batch holds at most maxItems", async () => {
    const r = recorder((items: number[]) => items);
    const f = batched(r.run, { maxItems: 2, maxInFlight: 4 });
    await Promise.all([1, 2, 3, 4, 5].map(f));
    expect(r.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  test("items with the same key never share a batch", async () => {
    const r = recorder((items: string[]) => items);
    const f = batched(r.run, { maxItems: 10, maxInFlight: 1, keyOf: (s) => s.split(":")[0] as string });
    await Promise.all(["a:1", "b:1", "a:2", "c:1"].map(f));
    expect(r.batches).toEqual([["a:1", "b:1", "c:1"], ["a:2"]]);
  });

  test("a failed batch fails each of its callers and not the next batch", async () => {
    let calls = 0;
    const f = batched(
      async (items: number[]) => {
        calls += 1;
        if (calls === 1) throw new Error("connection terminated");
        return items;
      },
      { maxItems: 10, maxInFlight: 1 },
    );
    const failed = await Promise.allSettled([f(1), f(2)]);
    expect(failed.map((s) => s.status)).toEqual(["rejected", "rejected"]);
    expect(await f(3)).toBe(3);
  });

  test("a run that answers the wrong number of results fails its callers", async () => {
    const f = batched(async (_: number[]) => [1], { maxItems: 10, maxInFlight: 1 });
    const settled = await Promise.allSettled([f(1), f(2)]);
    expect(settled.every((s) => s.status === "rejected")).toBe(true);
  });

  test("a batch failed by one bad item is tried again item by item: only the bad one fails", async () => {
    const batches: number[][] = [];
    const badData = new Error("invalid input syntax");
    const f = batched(
      async (items: number[]) => {
        batches.push(items);
        if (items.includes(2)) throw badData;
        return items;
      },
      { maxItems: 10, maxInFlight: 1, mayBeOneItems: (err) => err === badData },
    );
    const settled = await Promise.allSettled([f(1), f(2), f(3)]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  test("an error that is nobody's item (a lost connection) fails the whole batch at once", async () => {
    let calls = 0;
    const f = batched(
      async (_: number[]): Promise<number[]> => {
        calls += 1;
        throw new Error("connection terminated");
      },
      { maxItems: 10, maxInFlight: 1, mayBeOneItems: () => false },
    );
    await Promise.allSettled([f(1), f(2)]);
    expect(calls).toBe(1);
  });
});
