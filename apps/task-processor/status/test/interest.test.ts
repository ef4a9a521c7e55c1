import { afterEach, describe, expect, it, vi } from "vitest";
import { JobInterest } from "../src/interest.ts";

// Which jobs' events a status replica receives (pure, with a fake opener): one subscription per job however many
// reasons there are, closed with the last one.

function setup() {
  const open = new Map<string, number>();
  const log: string[] = [];
  const interest = new JobInterest(
    (id) => {
      open.set(id, (open.get(id) ?? 0) + 1);
      log.push(`open ${id}`);
      return () => {
        open.set(id, (open.get(id) ?? 0) - 1);
        log.push(`close ${id}`);
      };
    },
    async () => {
      log.push("settled");
    },
  );
  return { interest, open, log };
}

describe("job interest", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("opens one subscription per job, whatever the number of reasons, and closes it with the last", () => {
    const { interest, log } = setup();
    interest.want("a");
    interest.want("a");
    interest.want("b");
    expect(log).toEqual(["open a", "open b"]);
    expect(interest.size).toBe(2);
    interest.release("a");
    expect(log).toEqual(["open a", "open b"]);
    interest.release("a");
    interest.release("a");
    expect(log).toEqual(["open a", "open b", "close a"]);
    expect(interest.size).toBe(1);
  });

  it("a release without a reason changes nothing", () => {
    const { interest, log } = setup();
    interest.release("never");
    expect(log).toEqual([]);
    expect(interest.size).toBe(0);
  });

  it("wantFor holds its reason for the time given", () => {
    vi.useFakeTimers();
    const { interest, log } = setup();
    interest.wantFor("c", 3_000);
    interest.want("c");
    vi.advanceTimersByTime(2_999);
    expect(interest.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(interest.size).toBe(1);
    interest.release("c");
    expect(log).toEqual(["open c", "close c"]);
  });

  it("receiving waits for the server to have every subscription; closeAll closes them all", async () => {
    const { interest, log, open } = setup();
    interest.want("d");
    interest.want("e");
    await interest.receiving();
    expect(log).toEqual(["open d", "open e", "settled"]);
    interest.closeAll();
    expect([...open.values()]).toEqual([0, 0]);
    expect(interest.size).toBe(0);
  });
});
