// The CRD catalog as a URL (the public catalog on a connected machine): files are fetched once and
// kept in the cache folder. Served here from the offline catalog by a loopback HTTP server.
import { createReadStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, normalize, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
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
