// `ktsw router apply` against a local OPNsense stand-in that enforces the model description derived
// from OPNsense's XML (test/support/fake-opnsense.ts): first run, second run, deletions, dry run,
// and the bad inputs (unreachable, wrong key, a refused value, a half-applied run).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { KtswConfig } from "../../src/config/schema.ts";
import { routerBgpPlan } from "../../src/network/router-bgp.ts";
import { opnsenseApiPayload } from "../../src/render/router/opnsense-api.ts";
import { identities } from "../../src/router/endpoints.ts";
import { RouterUnreachable, routerApi } from "../../src/router/http.ts";
import { bodyObject } from "../../src/router/plan.ts";
import { applyToRouter, RouterRefused, readState } from "../../src/router/run.ts";
import { makeCerts } from "../../src/sim/certs.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { mustParse, siteText } from "../network/helpers.ts";
import { runKtsw } from "../support/cli.ts";
import { type FakeOpnsense, startFakeOpnsense } from "../support/fake-opnsense.ts";

const site = mustParse(await siteText());
const wireguardKey = Buffer.alloc(32, 7).toString("base64");
const secrets = { "wireguard-private-key": wireguardKey };
const allInterfaces = ["wan", "lan", "opt1", "opt2", "opt3", "opt4", "wireguard"];

let fake: FakeOpnsense;
let interfaces: string[];
let dir: string;

beforeEach(async () => {
  interfaces = [...allInterfaces];
  fake = await startFakeOpnsense({ interfaces });
  dir = mkdtempSync(join(tmpdir(), "ktsw-router-"));
});
afterEach(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

const callsOf = (config: KtswConfig) => opnsenseApiPayload(config, routerBgpPlan(config)).calls;
const apply = (config: KtswConfig = site, lines: string[] = []) =>
  applyToRouter(routerApi({ url: fake.url, key: fake.key, secret: fake.secret }), callsOf(config), {
    secrets,
    progress: (l) => lines.push(l),
  });
/** Requests that change the router's saved configuration. */
const writes = () => fake.requests.filter((r) => /\/(add_\w+|set_\w+\/.+|del_\w+\/.+|set)$/.test(r.path));
const count = (path: string) => fake.objects.get(path)?.size ?? 0;
const objectsOf = (path: string) => [...(fake.objects.get(path)?.values() ?? [])];

function keyFile(key = fake.key, secret = fake.secret): string {
  const file = join(dir, "apikey.txt");
  writeFileSync(file, `key=${key}\nsecret=${secret}\n`);
  return file;
}

describe("router apply", () => {
  test("every rendered object is recognised as KTSW's, but the few kinds with no place for a marker", () => {
    const calls = callsOf(site);
    const refs = new Map([["peergroup", "pg-uuid"]]);
    const unmarked = calls.filter((c) => {
      const identity = identities[c.path];
      const fields = bodyObject(c)?.[1];
      const resolved = fields && { ...fields, peergroup: fields.peergroup === "{{ref:peergroup}}" ? "pg-uuid" : "" };
      return identity && resolved && !identity.owned(resolved, refs);
    });
    expect([...new Set(unmarked.map((c) => c.path))].sort()).toEqual([
      "/api/quagga/bgp/add_peergroup",
      "/api/wireguard/client/add_client",
    ]);
  });

  test("no two rendered objects of a kind share a key (each finds its own object on the router)", () => {
    const keys = callsOf(site).flatMap((c) => {
      const fields = bodyObject(c)?.[1];
      return identities[c.path] && fields ? [`${c.path} ${identities[c.path]?.key(fields)}`] : [];
    });
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  test("a first apply creates every rendered object and loads each section", async () => {
    const calls = callsOf(site);
    const r = await apply();
    for (const path of new Set(calls.map((c) => c.path).filter((p) => /\/add_\w+$/.test(p)))) {
      expect(count(path), path).toBe(calls.filter((c) => c.path === path).length);
    }
    const reloads = calls.filter((c) => /\/(reconfigure|apply)$/.test(c.path)).map((c) => c.path);
    expect(fake.requests.filter((q) => reloads.includes(q.path)).map((q) => q.path)).toEqual(reloads);
    expect(r.changed).toBe(writes().length);
    // Relations hold the uuids the router returned: the WireGuard server names both peers.
    const [server] = objectsOf("/api/wireguard/server/add_server");
    expect(server?.peers?.split(",").sort()).toEqual(
      [...(fake.objects.get("/api/wireguard/client/add_client")?.keys() ?? [])].sort(),
    );
    expect(server?.privkey).toBe(wireguardKey);
  });

  test("a second apply changes nothing", async () => {
    await apply();
    const before = writes().length;
    const r = await apply();
    expect(r.changed).toBe(0);
    expect(writes().length).toBe(before);
  });

  test("an object no longer rendered is deleted; the user's own objects are left alone", async () => {
    await apply();
    const api = routerApi({ url: fake.url, key: fake.key, secret: fake.secret });
    await api.post("/api/firewall/filter/add_rule", { rule: { interface: "lan", description: "my own rule" } });
    await api.post("/api/quagga/bgp/add_neighbor", { neighbor: { address: "10.20.0.99", description: "my peer" } });
    const fewer = { ...site, nodes: site.nodes.filter((n) => n.name !== "worker-2") };
    await apply(fewer);
    const addresses = (path: string) => objectsOf(path).map((n) => n.address);
    expect(addresses("/api/quagga/bgp/add_neighbor")).not.toContain("10.20.0.22");
    expect(addresses("/api/quagga/bgp/add_neighbor")).toContain("10.20.0.99");
    expect(addresses("/api/quagga/bfd/add_neighbor")).not.toContain("10.20.0.22");
    expect(objectsOf("/api/firewall/filter/add_rule").map((r) => r.description)).toContain("my own rule");
    expect((await apply(fewer)).changed).toBe(0);
  });

  test("a value the router refuses names the object and field, lists what was applied, and a second run converges", async () => {
    interfaces.splice(interfaces.indexOf("opt2"), 1); // the nodes VLAN not assigned yet
    const error = await apply().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouterRefused);
    const message = (error as Error).message;
    expect(message).toMatch(/refused \/api\/firewall\/filter\/add_rule \(rule ktsw: .+\)/);
    expect(message).toMatch(/rule\.interface: no interface opt2/);
    expect(message).toContain("POST /api/firewall/alias/add_item (alias ktsw_lb_pool)");
    expect(message).toMatch(/run `ktsw router apply` again/);
    interfaces.push("opt2");
    await apply();
    const calls = callsOf(site);
    expect(count("/api/firewall/filter/add_rule")).toBe(calls.filter((c) => c.path.endsWith("/add_rule")).length);
    expect((await apply()).changed).toBe(0);
  });

  test("a firewall that does not read back as planned is put back as it was before the run", async () => {
    await apply();
    const rules = () =>
      objectsOf("/api/firewall/filter/add_rule")
        .map((r) => r.description)
        .sort();
    const before = rules();
    // The router loses one of the new rules during the filter apply (what verify exists for).
    fake.onFilterApply = () => {
      fake.onFilterApply = undefined;
      const store = fake.objects.get("/api/firewall/filter/add_rule");
      const [uuid] = [...(store?.entries() ?? [])].find(([, r]) => r.description?.startsWith("ktsw:")) ?? [];
      if (uuid) store?.delete(uuid);
    };
    const noWireguard = {
      ...site,
      router: { ...site.router, wireguard: { ...site.router.wireguard, enabled: false } },
    };
    const lines: string[] = [];
    await expect(apply(noWireguard, lines)).rejects.toThrow(
      /differed from the plan; KTSW's rules and aliases were put back/,
    );
    expect(lines.some((l) => l.startsWith("verify: the router's firewall differs"))).toBe(true);
    expect(rules()).toEqual(before);
    expect(fake.requests.filter((q) => q.path === "/api/firewall/filter/apply")).toHaveLength(3);
  });

  test("a router that stops answering after the filter apply is reported as a possible lockout, with the way back", async () => {
    fake.onFilterApply = () => {
      fake.unreachable = true;
    };
    const error = await apply().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouterUnreachable);
    expect((error as Error).message).toMatch(/cannot reach the router at http:\/\/127\.0\.0\.1:\d+/);
    expect((error as Error).message).toMatch(/may shut this machine out.*\n?.*pfctl -d/s);
  });
});

const openssl = findTool("openssl");
if (!openssl) console.warn(`SKIPPING router apply over HTTPS: ${missingToolMessage("openssl")}`);

describe.skipIf(!openssl)("router apply over HTTPS", () => {
  test("the router's CA is trusted with --ca-file; without it the message says how to trust it", async () => {
    const certs = await makeCerts(join(dir, "tls"), "10.43.0.1");
    const tls = { cert: readFileSync(certs.servingCert, "utf8"), key: readFileSync(certs.servingKey, "utf8") };
    const secure = await startFakeOpnsense({ interfaces, tls });
    try {
      const calls = callsOf(site);
      const api = (o: { ca?: string; insecure?: boolean }) =>
        routerApi({ url: secure.url, key: secure.key, secret: secure.secret, ...o });
      await expect(readState(api({ ca: readFileSync(certs.caCert, "utf8") }), calls)).resolves.toBeDefined();
      await expect(readState(api({ insecure: true }), calls)).resolves.toBeDefined();
      await expect(readState(api({}), calls)).rejects.toThrow(
        /cannot reach the router at https:\/\/127\.0\.0\.1:\d+: .+ \(the router's certificate is not trusted: pass --ca-file with its CA, or --insecure\)/,
      );
    } finally {
      await secure.close();
    }
  });
});

describe("ktsw router apply (the command)", () => {
  test("--dry-run prints the calls with their bodies and changes nothing", async () => {
    const r = await runKtsw(["router", "apply", "--url", fake.url, "--key-file", keyFile(), "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^POST \/api\/firewall\/filter\/add_rule \{"rule":\{/m);
    expect(r.stdout).toMatch(/^POST \/api\/firewall\/filter\/apply$/m);
    expect(r.stdout).toMatch(/nothing was sent/);
    expect(writes()).toEqual([]);
    expect([...fake.objects.values()].every((m) => m.size === 0)).toBe(true);
  });

  test("an unreachable router is named with its URL", async () => {
    const url = fake.url;
    await fake.close();
    fake = await startFakeOpnsense({ interfaces }); // afterEach closes this one
    const r = await runKtsw(["router", "apply", "--url", url, "--key-file", keyFile(), "--dry-run"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`cannot reach the router at ${url}`);
  });

  test("a wrong key says so", async () => {
    const r = await runKtsw(["router", "apply", "--url", fake.url, "--key-file", keyFile("wrong", "key")]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/refused the API key \(HTTP 401\): check the key file/);
    expect(writes()).toEqual([]);
  });
});
