import { describe, expect, test } from "vitest";
import {
  contains,
  isHostAddress,
  overlaps,
  parseCidr,
  parsePool,
  rangeSize,
  toAddress,
  toNumber,
} from "../../src/config/ipv4.ts";
import { isPrivateAsn } from "../../src/config/semantics.ts";

describe("ipv4", () => {
  test("numbers round-trip", () => {
    for (const a of ["0.0.0.0", "10.20.0.11", "255.255.255.255", "192.168.1.1"]) expect(toAddress(toNumber(a))).toBe(a);
  });
  test("cidr bounds", () => {
    const c = parseCidr("10.40.0.0/24");
    expect([toAddress(c.first), toAddress(c.last)]).toEqual(["10.40.0.0", "10.40.0.255"]);
    expect(contains(c, "10.40.0.7")).toBe(true);
    expect(contains(c, "10.41.0.7")).toBe(false);
    expect(isHostAddress(c, "10.40.0.0")).toBe(false);
    expect(isHostAddress(c, "10.40.0.255")).toBe(false);
    expect(isHostAddress(parseCidr("10.0.0.0/31"), "10.0.0.0")).toBe(true);
  });
  test("pools as ranges and CIDRs", () => {
    expect(rangeSize(parsePool("10.40.0.100-10.40.0.199"))).toBe(100);
    expect(rangeSize(parsePool("10.40.0.128/26"))).toBe(64);
  });
  test("overlap is symmetric and touches count", () => {
    const a = parseCidr("10.42.0.0/16");
    const b = parseCidr("10.42.255.0/24");
    expect(overlaps(a, b)).toBe(true);
    expect(overlaps(b, a)).toBe(true);
    expect(overlaps(a, parseCidr("10.43.0.0/16"))).toBe(false);
  });
  test("private ASN ranges (RFC 6996) including their edges", () => {
    expect([64511, 64512, 65534, 65535].map(isPrivateAsn)).toEqual([false, true, true, false]);
    expect([4199999999, 4200000000, 4294967294, 4294967295].map(isPrivateAsn)).toEqual([false, true, true, false]);
  });
});
