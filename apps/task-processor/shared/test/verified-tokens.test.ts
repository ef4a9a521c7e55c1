import { createVerifier, type Principal, VerifiedTokens } from "@ktsw/task-shared/auth";
import { describe, expect, test } from "vitest";
import { startTokenIssuer } from "../../devstack/src/token-issuer.ts";

// A token that verified is remembered until it expires, so the gateway checks a client's token's
// signature once, not on every request; anything else is verified as before.

const principal = (exp?: number): Principal => ({ sub: "alice", scopes: new Set(["jobs:write"]), claims: { exp } });

describe("VerifiedTokens", () => {
  test("a remembered token is returned until exp plus the clock skew, then forgotten", () => {
    let now = 1_000_000_000;
    const tokens = new VerifiedTokens(10, 5, () => now);
    const p = principal(1_000_060);
    tokens.set("t", p);
    expect(tokens.get("t")).toBe(p);
    now = (1_000_060 + 5) * 1000 - 1;
    expect(tokens.get("t")).toBe(p);
    now += 1;
    expect(tokens.get("t")).toBeUndefined();
  });

  test("a token without exp, or a cache of size 0, remembers nothing", () => {
    const tokens = new VerifiedTokens(10, 0, () => 0);
    tokens.set("no-exp", principal());
    expect(tokens.get("no-exp")).toBeUndefined();
    const none = new VerifiedTokens(0, 0, () => 0);
    none.set("t", principal(10));
    expect(none.get("t")).toBeUndefined();
  });

  test("past its bound the oldest token goes first", () => {
    const tokens = new VerifiedTokens(2, 0, () => 0);
    tokens.set("a", principal(10));
    tokens.set("b", principal(10));
    tokens.set("c", principal(10));
    expect(tokens.get("a")).toBeUndefined();
    expect(tokens.get("b")).toBeDefined();
    expect(tokens.get("c")).toBeDefined();
  });
});

describe("the verifier with remembered tokens", () => {
  test("answers as verification would: the same principal again, each token its own, an altered token refused", async () => {
    const issuer = await startTokenIssuer();
    try {
      const verify = createVerifier({
        issuer: issuer.issuer,
        jwksUrl: issuer.jwksUrl,
        audience: "task-api",
        clockSkewSec: 5,
        jwksCooldownMs: 0,
      });
      const alice = await issuer.issue({ sub: "alice", scope: "jobs:write", expiresIn: 300 });
      const bob = await issuer.issue({ sub: "bob", scope: "jobs:read", expiresIn: 300 });
      const first = await verify(`Bearer ${alice}`);
      expect(await verify(`Bearer ${alice}`)).toBe(first);
      expect(first.sub).toBe("alice");
      expect([...first.scopes]).toEqual(["jobs:write"]);
      const b = await verify(`Bearer ${bob}`);
      expect(b.sub).toBe("bob");
      expect([...b.scopes]).toEqual(["jobs:read"]);
      const [head, body, signature = ""] = alice.split(".");
      const altered = `${head}.${body}.${signature.slice(0, -6)}${signature.slice(-6) === "AAAAAA" ? "BBBBBB" : "AAAAAA"}`;
      await expect(verify(`Bearer ${altered}`)).rejects.toMatchObject({ problem: { status: 401 } });
    } finally {
      await issuer.close();
    }
  });
});
