import { describe, expect, test } from "vitest";
import { parseCidr, toNumber } from "../../src/config/ipv4.ts";
import { rangeToCidrs } from "../../src/network/pool-prefixes.ts";

/** Every address the blocks cover, in order; fails on overlap or misalignment. */
function covered(blocks: string[]): number[] {
  const out: number[] = [];
  for (const b of blocks) {
    const c = parseCidr(b);
    expect(c.network % (c.last - c.first + 1), `${b} is aligned`).toBe(0);
    for (let n = c.first; n <= c.last; n++) out.push(n);
  }
  return out;
}

describe("rangeToCidrs", () => {
  const ranges: [string, string][] = [
    ["10.40.0.100", "10.40.0.199"],
    ["10.40.0.0", "10.40.0.255"],
    ["10.40.0.7", "10.40.0.7"],
    ["10.40.0.1", "10.40.1.254"],
  ];
  test.each(ranges)("%s-%s is covered exactly, each block aligned, none overlapping", (from, to) => {
    const first = toNumber(from);
    const last = toNumber(to);
    const blocks = rangeToCidrs(first, last);
    const addresses = covered(blocks);
    expect(addresses).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
  });

  test("a range that is one aligned block stays one block", () => {
    expect(rangeToCidrs(toNumber("10.40.0.0"), toNumber("10.40.0.255"))).toHaveLength(1);
  });
});
