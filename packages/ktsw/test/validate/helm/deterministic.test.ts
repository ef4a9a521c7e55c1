// Every chart of the tree renders the same objects twice. A chart that generates a value at render
// time (randAlphaNum, genCA, htpasswd's salt) rotates it at every Helm upgrade in the cluster, so the
// components that share it restart (and, for a token key, log everyone out); here it also changes the
// objects at every `ktsw validate`, so nothing keyed by them (the policy results) is ever reused.
// The tree sets such values from its own Secrets (Harbor: platform/harbor/app/credentials.sops.yaml) or
// cert-manager; the exceptions are values the chart generates only when the cluster has none yet.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { expect, test } from "vitest";
import { defaultValidateOptions, treeSources } from "../../../src/commands/validate.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { nameOf, namespaceOf } from "../../../src/validate/flux.ts";
import { buildAppliedTree } from "../../../src/validate/index.ts";

const repo = resolve(import.meta.dirname, "../../../../..");

/**
 * Objects a chart generates offline but not in the cluster: its template looks the value up there first
 * (`lookup`, which finds nothing in an offline render), so it is generated once, at install, and kept.
 */
const keptByLookup: Record<string, string> = {
  "kube-system/cilium: Secret kube-system/cilium-ca": "the chart reuses the Secret cilium-ca it finds",
  "kube-system/cilium: Secret kube-system/hubble-server-certs": "reused while its CA is the same",
  "kube-system/cilium: Secret kube-system/hubble-relay-client-certs": "reused while its CA is the same",
  "gatekeeper-system/ratify: Provider undefined/ratify-provider": "caBundle read from the Secret ratify-tls it finds",
};

/** The charts' objects by release and object, rendered from scratch (a render cache of its own). */
async function renderCharts(): Promise<Map<string, unknown>> {
  const { config } = await loadConfig(`${repo}/ktsw.yaml`);
  if (!config) throw new Error("ktsw.yaml does not load");
  const cache = await mkdtemp(join(tmpdir(), "ktsw-renders-"));
  try {
    const tree = await buildAppliedTree({
      ...treeSources(repo, config, defaultValidateOptions),
      renderCacheDir: cache,
    });
    const objects = new Map<string, unknown>();
    for (const a of tree.applied.filter((x) => x.chart))
      objects.set(`${a.chart?.release}: ${a.object.kind} ${namespaceOf(a.object)}/${nameOf(a.object)}`, a.object);
    return objects;
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

/** The first path at which two values differ (enough to find the generated field). */
function firstDifference(a: unknown, b: unknown, path = ""): string {
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null)
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const [x, y] = [(a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]];
      if (!isDeepStrictEqual(x, y)) return firstDifference(x, y, `${path}.${k}`);
    }
  return path || "(the whole object)";
}

test("every chart renders the same objects twice (no value generated at render time)", async () => {
  const [first, second] = [await renderCharts(), await renderCharts()];
  expect(first.size).toBeGreaterThan(500);
  expect([...second.keys()].sort()).toEqual([...first.keys()].sort());
  expect(
    Object.keys(keptByLookup).filter((k) => !first.has(k)),
    "exceptions naming no rendered object",
  ).toEqual([]);
  const differing = [...first]
    .filter(([key, object]) => !(key in keptByLookup) && !isDeepStrictEqual(object, second.get(key)))
    .map(([key, object]) => `${key} at ${firstDifference(object, second.get(key))}`);
  expect(differing).toEqual([]);
}, 180_000);
