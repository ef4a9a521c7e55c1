// `ktsw bootstrap` against any cluster kubectl reaches (the sim is just its first target): Flux's CRDs, the
// namespace, the age key and the root sources, all by server-side apply (a second run changes nothing), then a wait
// that reports every Kustomization and HelmRelease as it turns Ready, until all are (or the deadline names the stuck
// ones with their last condition).
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { poll } from "../lab/net/poll.ts";
import { fluxNamespace } from "../sim/flux.ts";
import { installFluxCrds } from "../sim/flux-crds.ts";
import type { Kubectl } from "../sim/kubectl.ts";
import { type FluxRow, fluxRows } from "../sim/status.ts";
import { bootstrapObjects, checkAgeKey, rootObjects } from "./plan.ts";

export interface BootstrapOptions {
  kubectl: Kubectl;
  binFolder: string;
  ageKeyFile: string;
  /** The cluster folder's flux-system.yaml, and its text as applied (the sim's points at its local git server). */
  rootFile: string;
  rootText?: string;
  progress: (line: string) => void;
  /** How long the tree may take to become Ready. */
  timeoutMs: number;
  /** How long to wait for any Flux controller to pick up the root GitRepository. */
  pickupTimeoutMs?: number;
  /** Runs before each reading while waiting (the sim relaxes the webhooks it cannot serve here). */
  tick?: () => Promise<void>;
  /** With exceptions: how long the set of objects must stand still before the wait ends (default 45 s). */
  settleMs?: number;
  /** Objects (`Kind namespace/name`) that cannot become Ready here, with why; reported, not waited for. */
  exceptions?: ReadonlyMap<string, string>;
}

export interface BootstrapResult {
  rows: FluxRow[];
  seconds: number;
}

export const fluxKinds = [
  { kind: "Kustomization", resource: "kustomizations.kustomize.toolkit.fluxcd.io" },
  { kind: "HelmRelease", resource: "helmreleases.helm.toolkit.fluxcd.io" },
] as const;

export const rowId = (r: Pick<FluxRow, "kind" | "namespace" | "name">) => `${r.kind} ${r.namespace}/${r.name}`;

/** Every Kustomization and HelmRelease with its Ready condition. */
export async function readFlux(kubectl: Kubectl): Promise<FluxRow[]> {
  const rows: FluxRow[] = [];
  for (const f of fluxKinds) {
    rows.push(...fluxRows(f.kind, JSON.parse(await kubectl(["get", f.resource, "-A", "-o", "json"]))));
  }
  return rows;
}

/**
 * Not Ready and not an expected exception: what the wait is still waiting for. An exception still waiting on a
 * dependency that is Ready has not had its turn yet (Flux looks again shortly): until it has, what it applies does not
 * exist, so it is waited for too.
 */
export function stuck(rows: readonly FluxRow[], exceptions: ReadonlyMap<string, string>): FluxRow[] {
  const ready = new Set(rows.filter((r) => r.ready).map(rowId));
  const dependency = (r: FluxRow) => /dependency '([^/']+)\/([^']+)' is not ready/.exec(r.message);
  const notYetTried = (r: FluxRow) => {
    const d = r.reason === "DependencyNotReady" ? dependency(r) : null;
    return d !== null && ready.has(`${r.kind} ${d[1]}/${d[2]}`);
  };
  return rows.filter((r) => !r.ready && (!exceptions.has(rowId(r)) || notYetTried(r)));
}

export async function bootstrap(o: BootstrapOptions): Promise<BootstrapResult> {
  const t0 = performance.now();
  const ageKey = await readFile(o.ageKeyFile, "utf8").catch(() => {
    throw new Error(`age key ${o.ageKeyFile} cannot be read (--age-key names it; \`ktsw secrets init\` makes one)`);
  });
  checkAgeKey(ageKey, o.ageKeyFile);
  const roots = rootObjects(o.rootText ?? (await readFile(o.rootFile, "utf8")), o.rootFile);

  const crds = await installFluxCrds(o.kubectl, o.binFolder);
  o.progress(`Flux CRDs: ${crds.length} installed and established`);
  const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: bootstrapObjects(ageKey, roots) });
  const applied = await o.kubectl(
    ["apply", "--server-side", "--field-manager=ktsw", "--force-conflicts", "-f", "-"],
    list,
  );
  for (const line of applied.trim().split("\n")) o.progress(line);

  const exceptions = o.exceptions ?? new Map<string, string>();
  const git = roots.find((r) => r.kind === "GitRepository");
  const pickupMs = o.pickupTimeoutMs ?? 60_000;
  const pickedUp = await poll(
    `a Flux controller to pick up GitRepository ${fluxNamespace}/${git?.metadata.name}`,
    async () => {
      const s = JSON.parse(
        await o.kubectl([
          "get",
          "gitrepositories.source.toolkit.fluxcd.io",
          "-n",
          fluxNamespace,
          git?.metadata.name ?? "",
          "-o",
          "json",
        ]),
      );
      return (s.status?.conditions?.length ?? 0) > 0;
    },
    (p) => p,
    { timeoutMs: pickupMs, everyMs: 1_000 },
  ).catch(() => false);
  if (!pickedUp) {
    throw new Error(
      `no Flux controller picked up GitRepository ${fluxNamespace}/${git?.metadata.name} within ${pickupMs / 1000} s: ` +
        "on a cluster, install the controllers of the pinned Flux release first (`flux install --version=v2.7.3`); " +
        "`ktsw sim up` runs them on the sim",
    );
  }

  const seen = new Map<string, boolean>();
  let last: FluxRow[] = [];
  const report = (rows: FluxRow[]) => {
    for (const r of rows) {
      if (seen.get(rowId(r)) === r.ready) continue;
      seen.set(rowId(r), r.ready);
      const at = ((performance.now() - t0) / 1000).toFixed(0);
      if (r.ready) o.progress(`${at} s  ✓ ${rowId(r)}`);
      else if (exceptions.has(rowId(r)))
        o.progress(`${at} s  ~ ${rowId(r)}: not Ready here: ${exceptions.get(rowId(r))}`);
    }
  };
  // With exceptions, "everything else Ready" can hold for a moment before a layer waiting on an exception has even
  // applied its components (they do not exist yet, so nothing is stuck): the set of objects must also have stood
  // still for a while, longer than Flux's wait before it looks at a dependency again.
  const settleMs = exceptions.size > 0 ? (o.settleMs ?? 45_000) : 0;
  let ids = "";
  let changedAt = performance.now();
  const done = await poll(
    "every Kustomization and HelmRelease to be Ready",
    async () => {
      await o.tick?.();
      last = await readFlux(o.kubectl);
      report(last);
      const now = last.map(rowId).sort().join("\n");
      if (now !== ids) {
        ids = now;
        changedAt = performance.now();
      }
      return last;
    },
    // The root alone Ready is not the tree Ready: the layers it applies must exist and be Ready too.
    (rows) => rows.length > 1 && stuck(rows, exceptions).length === 0 && performance.now() - changedAt >= settleMs,
    { timeoutMs: o.timeoutMs, everyMs: 1_000 },
  ).then(
    () => true,
    () => false,
  );
  const seconds = (performance.now() - t0) / 1000;
  if (!done) {
    const lines = stuck(last, exceptions).map((r) => `  ${rowId(r)}: ${r.reason}${r.message ? `: ${r.message}` : ""}`);
    throw new Error(
      `the tree did not become Ready within ${o.timeoutMs / 1000} s; ${lines.length} not Ready:\n${lines.join("\n")}`,
    );
  }
  return { rows: last, seconds };
}
