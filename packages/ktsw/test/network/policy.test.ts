import { execFileSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { parsePool, toAddress } from "../../src/config/ipv4.ts";
import { zones } from "../../src/network/firewall-schema.ts";
import { renderNftables } from "../../src/network/nftables.ts";
import { decide, expandPolicy, routedZones } from "../../src/network/policy.ts";
import { mustParse, siteText } from "./helpers.ts";

const text = await siteText();
const config = mustParse(text);
const rules = expandPolicy(config);

describe("firewall policy model (ktsw.yaml router.firewall)", () => {
  test("clients reach the VIP pool on 80/443 only", () => {
    for (const from of ["wan", "wireguard"] as const) {
      for (const port of [80, 443])
        expect(decide(rules, { from, to: { kind: "lb-pool" }, proto: "tcp", port }).allowed).toBe(true);
      for (const port of [22, 8080, 6443])
        expect(decide(rules, { from, to: { kind: "lb-pool" }, proto: "tcp", port }).allowed).toBe(false);
      expect(decide(rules, { from, to: { kind: "lb-pool" }, proto: "udp", port: 443 }).allowed).toBe(false);
    }
  });

  test("nodes may not reach mgmt; they reach the router for BGP and BFD", () => {
    for (const port of [22, 443, 8006]) {
      expect(decide(rules, { from: "nodes", to: { kind: "zone", zone: "mgmt" }, proto: "tcp", port }).allowed).toBe(
        false,
      );
    }
    expect(decide(rules, { from: "nodes", to: { kind: "router" }, proto: "tcp", port: 179 }).allowed).toBe(true);
    for (const port of [3784, 3785, 4784]) {
      expect(decide(rules, { from: "nodes", to: { kind: "router" }, proto: "udp", port }).allowed).toBe(true);
    }
  });

  test("mgmt reaches every routed zone, the router and the pool, but never the isolated storage VLAN", () => {
    for (const zone of routedZones(config).filter((z) => z !== "mgmt")) {
      expect(decide(rules, { from: "mgmt", to: { kind: "zone", zone }, proto: "tcp", port: 22 }).allowed, zone).toBe(
        true,
      );
    }
    expect(decide(rules, { from: "mgmt", to: { kind: "router" }, proto: "tcp", port: 443 }).allowed).toBe(true);
    expect(decide(rules, { from: "mgmt", to: { kind: "zone", zone: "storage" }, proto: "tcp", port: 22 }).allowed).toBe(
      false,
    );
    expect(routedZones(config)).not.toContain("storage");
  });

  test("nothing leaves or enters the storage VLAN", () => {
    for (const zone of zones) {
      expect(decide(rules, { from: "storage", to: { kind: "zone", zone }, proto: "tcp", port: 22 }).allowed).toBe(
        false,
      );
      expect(
        decide(rules, { from: zone, to: { kind: "zone", zone: "storage" }, proto: "tcp", port: 3260 }).allowed,
      ).toBe(false);
    }
  });

  test("a flow naming an isolated zone is rejected with its location", () => {
    const bad = text.replace(
      "      - { from: [nodes], to: [wan], why: nodes pull images and updates from the internet }",
      "      - { from: [nodes], to: [storage], why: replication }",
    );
    expect(bad).not.toBe(text);
    const { config: parsed, findings } = mustParseOrFindings(bad);
    expect(parsed).toBeUndefined();
    expect(findings.some((f) => f.includes("storage is isolated"))).toBe(true);
  });

  test("ports without a protocol are rejected", () => {
    const bad = text.replace("to: [lb-pool], proto: tcp, ports: [80, 443]", "to: [lb-pool], ports: [80, 443]");
    expect(bad).not.toBe(text);
    expect(mustParseOrFindings(bad).findings.some((f) => f.includes("ports need a protocol"))).toBe(true);
  });
});

function mustParseOrFindings(t: string): { config?: unknown; findings: string[] } {
  try {
    return { config: mustParse(t), findings: [] };
  } catch (err) {
    return { findings: String((err as Error).message).split("\n") };
  }
}

describe("nftables rendering", () => {
  const ruleset = renderNftables(config);

  test("every expanded rule appears as an accept with its reason", () => {
    const accepts = ruleset.split("\n").filter((l) => l.includes(" accept comment "));
    expect(accepts).toHaveLength(rules.length);
    for (const r of rules) expect(ruleset).toContain(r.why);
  });

  test("the VIP pool set holds exactly the configured pool", () => {
    const pool = parsePool(config.kubernetes.loadBalancerPool);
    expect(ruleset).toContain(`elements = { ${toAddress(pool.first)}-${toAddress(pool.last)} }`);
  });

  test.skipIf(process.getuid?.() !== 0)(
    "nft accepts the ruleset (check mode, in a throwaway network namespace)",
    () => {
      // `nft -c` parses and validates against the kernel without loading; unshare keeps even that private.
      expect(() => execFileSync("unshare", ["-n", "nft", "-c", "-f", "-"], { input: ruleset })).not.toThrow();
    },
  );
});
