// A MetalLB pool written as a range (10.40.0.100-10.40.0.199) is not a prefix, but BGP filters
// match prefixes. This splits a range into the fewest CIDR blocks that cover exactly it, so the
// router's prefix-list accepts every VIP of the pool and nothing next to it.
import { parsePool, toAddress } from "../config/ipv4.ts";

export function rangeToCidrs(first: number, last: number): string[] {
  const blocks: string[] = [];
  let start = first;
  while (start <= last) {
    // The largest block that starts at `start` (alignment) and does not run past `last`.
    let size = 1;
    while (start % (size * 2) === 0 && start + size * 2 - 1 <= last) size *= 2;
    blocks.push(`${toAddress(start)}/${32 - Math.log2(size)}`);
    start += size;
  }
  return blocks;
}

export function poolToCidrs(pool: string): string[] {
  const range = parsePool(pool);
  return rangeToCidrs(range.first, range.last);
}
