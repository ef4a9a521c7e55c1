// The CRD catalog as a URL (the public catalog on a connected machine): files are fetched once and
// kept in the cache folder. Served here from the offline catalog by a loopback HTTP server.
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, normalize, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ensureBuiltinSchemas } from "../../src/validate/builtin-schemas.ts";
import { defaultSchemaSources } from "../../src/validate/index.ts";
import { builtinSchemaFile, isBuiltinGroup, SchemaStore } from "../../src/validate/schemas.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const offline = defaultSchemaSources(repo, undefined, undefined, "v1.33.5+k3s1");
const cache = mkdtempSync(join(tmpdir(), "ktsw-crd-cache-"));
let server: Server;
let requests = 0;
let base = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    const file = join(offline.crds, normalize(decodeURIComponent(req.url ?? "/")).replace(/^(\.\.[/\\])+/, ""));
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  rmSync(cache, { recursive: true, force: true });
});

describe("CRD schemas from a URL with a local cache", () => {
  test("first lookup downloads and caches; a new store reads the cache without asking again", async () => {
    const sources = { ...offline, crds: base, cacheDir: cache, validatorCacheDir: undefined };
    const first = await new SchemaStore(sources).lookup("metallb.io/v1beta2", "BGPPeer");
    expect(first.found).toBe(true);
    expect(existsSync(join(cache, "metallb.io/bgppeer_v1beta2.json"))).toBe(true);
    const asked = requests;
    const second = await new SchemaStore(sources).lookup("metallb.io/v1beta2", "BGPPeer");
    expect(second.found).toBe(true);
    expect(requests).toBe(asked);
    if (second.found) {
      expect(
        second.validate({
          apiVersion: "metallb.io/v1beta2",
          kind: "BGPPeer",
          metadata: { name: "x" },
          spec: { myASN: 1, bogus: 2 },
        }),
      ).toBe(false);
    }
  });

  test("an unknown kind is reported with where it was looked for", async () => {
    const missing = await new SchemaStore({ ...offline, crds: base, cacheDir: cache }).lookup(
      "example.com/v1",
      "Widget",
    );
    expect(missing.found).toBe(false);
    if (!missing.found) expect(missing.tried[0]).toBe(`${base}/example.com/widget_v1.json`);
  });
});

describe("an unreachable catalog", () => {
  test("is an error that names the catalog and the way out, not a wave of unknown kinds", async () => {
    const store = new SchemaStore({ ...offline, crds: "http://127.0.0.1:9", cacheDir: cache });
    await expect(store.lookup("metallb.io/v1beta1", "IPAddressPool")).rejects.toThrow(
      /cannot reach the CRD schema catalog.*--schemas/,
    );
  });
});

describe("built-in kinds", () => {
  test.each([
    ["", "v1", "Namespace", "namespace-v1.json"],
    ["apps", "v1", "Deployment", "deployment-apps-v1.json"],
    ["networking.k8s.io", "v1", "NetworkPolicy", "networkpolicy-networking-v1.json"],
    ["rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterrole-rbac-v1.json"],
  ])("%s/%s %s -> %s", (group, version, kind, file) => {
    expect(isBuiltinGroup(group)).toBe(true);
    expect(builtinSchemaFile(group, version, kind)).toBe(file);
  });
  test.each(["metallb.io", "gateway.networking.k8s.io", "cert-manager.io"])("%s is a CRD group", (group) => {
    expect(isBuiltinGroup(group)).toBe(false);
  });
});

describe("validators kept between runs", () => {
  // The built-in kinds' schemas are extracted on first use by `validate`; this file must not rely on
  // another test having run it first.
  beforeAll(() => ensureBuiltinSchemas(offline.builtinDir, "v1.33.5+k3s1"), 120_000);
  // Each run a process of its own, as each `ktsw validate` is: within one process V8 reuses what it
  // compiled already and never consults a code cache.
  const verdicts = (dir: string): boolean[] => {
    const script = `
      import { SchemaStore } from ${JSON.stringify(join(repo, "packages/ktsw/src/validate/schemas.ts"))};
      const store = new SchemaStore({ ...${JSON.stringify(offline)}, validatorCacheDir: ${JSON.stringify(dir)} });
      const found = await store.lookup("apps/v1", "Deployment");
      const deployment = (replicas) => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" },
        spec: { replicas, selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } } } } });
      const out = [found.validate(deployment(2)), found.validate(deployment("two"))];
      store.keepCompiledCode();
      console.log(JSON.stringify(out));`;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: repo,
      encoding: "utf8",
    });
    return JSON.parse(out.trim().split("\n").pop() ?? "null") as boolean[];
  };

  test("generated code and V8's code cache are kept; a later run (even with a broken cache) judges the same", () => {
    const dir = mkdtempSync(join(tmpdir(), "ktsw-validators-"));
    try {
      expect(verdicts(dir)).toEqual([true, false]);
      const code = readdirSync(dir).filter((f) => f.endsWith(".cjs"));
      expect(code.length).toBeGreaterThan(0);
      // The second run loads the kept code; the V8 cache of it is written once it has run.
      expect(verdicts(dir)).toEqual([true, false]);
      const v8 = readdirSync(dir).filter((f) => f.endsWith(".cjs.v8"));
      expect(v8.length).toBe(code.length);
      expect(verdicts(dir)).toEqual([true, false]);
      // A cache V8 refuses (another Node, a damaged file) only costs a compile, and is made again.
      for (const f of v8) writeFileSync(join(dir, f), "not a code cache");
      expect(verdicts(dir)).toEqual([true, false]);
      for (const f of v8) expect(readFileSync(join(dir, f), "utf8")).not.toBe("not a code cache");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
