// IPv4 arithmetic on top of ipaddr.js: KTSW's site plan is IPv4 (homelab routers and MetalLB BGP
// announcements are IPv4-first); addresses become 32-bit numbers so ranges compare with < and >.
import ipaddr from "ipaddr.js";

export interface Cidr {
  text: string;
  network: number;
  prefix: number;
  /** First and last address of the block (network and broadcast for prefixes < 31). */
  first: number;
  last: number;
}

export interface Range {
  first: number;
  last: number;
}

export function isIPv4(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text);
}

export function toNumber(address: string): number {
  const bytes = ipaddr.IPv4.parse(address).toByteArray();
  return (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0;
}

export function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
}

export function isCidr(text: string): boolean {
  const [address, prefix, ...rest] = text.split("/");
  return (
    rest.length === 0 &&
    address !== undefined &&
    isIPv4(address) &&
    /^\d{1,2}$/.test(prefix ?? "") &&
    Number(prefix) <= 32
  );
}

/** Parses `a.b.c.d/len`; the address must be the network address, as a typo there usually means a wrong plan. */
export function parseCidr(text: string): Cidr {
  const [address = "", prefixText = ""] = text.split("/");
  const prefix = Number(prefixText);
  const size = 2 ** (32 - prefix);
  const network = toNumber(address);
  return { text, network, prefix, first: network, last: network + size - 1 };
}

export function isNetworkAddress(text: string): boolean {
  const c = parseCidr(text);
  return c.network % 2 ** (32 - c.prefix) === 0;
}

export function contains(block: Range, address: string): boolean {
  const n = toNumber(address);
  return n >= block.first && n <= block.last;
}

export function containsRange(outer: Range, inner: Range): boolean {
  return inner.first >= outer.first && inner.last <= outer.last;
}

export function overlaps(a: Range, b: Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** Usable host addresses exclude the network and broadcast address (except /31 and /32). */
export function isHostAddress(block: Cidr, address: string): boolean {
  const n = toNumber(address);
  if (block.prefix >= 31) return n >= block.first && n <= block.last;
  return n > block.first && n < block.last;
}

/** A MetalLB-style pool: `10.40.0.100-10.40.0.199` or a CIDR. */
export function parsePool(text: string): Range {
  if (text.includes("-")) {
    const [from = "", to = ""] = text.split("-").map((s) => s.trim());
    return { first: toNumber(from), last: toNumber(to) };
  }
  return parseCidr(text);
}

export function isPool(text: string): boolean {
  if (text.includes("-")) {
    const parts = text.split("-").map((s) => s.trim());
    return parts.length === 2 && parts.every(isIPv4) && toNumber(parts[0] ?? "") <= toNumber(parts[1] ?? "");
  }
  return isCidr(text);
}

export function rangeSize(r: Range): number {
  return r.last - r.first + 1;
}
