// Renders every HelmRelease of the tree offline, the way helm-controller would, so its objects go
// through the same checks as plain manifests. Charts come from a local Helm repository (the chart
// cache); the real Helm engine renders them; Flux's post-renderers and metadata are applied after.
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Finding } from "../../diagnostics.ts";
import { hasSopsMetadata } from "../../secrets/check.ts";
import { requireTool } from "../../tools/find.ts";
import { cachedObjects, cacheKey, fileDigest, readCached, writeCached } from "../disk-cache.ts";
import { get, groupOf, isHelmHook, nameOf, namespaceOf, type Obj, str } from "../flux.ts";
import { kustomizeCommand } from "../kustomize.ts";
import { findingAt } from "../sources.ts";
import { type AppliedObject, SECRET_PLACEHOLDER } from "../walk.ts";
import { crdApiVersions, isCrd, keptChartReadsApiVersions } from "./api-versions.ts";
import { type CachedChart, readChartIndex, resolveChart } from "./chart-cache.ts";
import { readChartFiles } from "./chart-files.ts";
import { type DuplicateKeys, helmTemplate, type TemplateRequest } from "./helm-template.ts";
import { defaultNamespaces } from "./namespaces.ts";
import { kustomizePostRenderers, runKustomizePostRenderer, withReleaseMetadata } from "./post-render.ts";
import {
  chartRef,
  composeValues,
  includesCrds,
  type ResolvedValuesRef,
  releaseName,
  releaseNamespace,
  valuesRefs,
} from "./release.ts";
import { renderKey } from "./render-cache.ts";
import { type Decrypted, secretDecrypter } from "./sops-values.ts";
import {
  chartKeyTree,
  type KeyTree,
  type KeyTreeJson,
  keyTreeFromJson,
  keyTreeToJson,
  unknownValuesKeys,
} from "./values-keys.ts";

export interface HelmRenderOptions {
  root: string;
  /** The chart cache (a Helm repository folder); undefined when there is none. */
  chartsDir?: string;
  /** The cluster's Kubernetes version, e.g. v1.33.5+k3s1. */
  kubeVersion: string;
  /** Where rendered charts are kept between runs; none: always render. */
  cacheDir?: string;
  /** The built-in APIs the cluster serves, as discovery lists them (`group/version[/Kind]`). */
  builtinApis?: readonly string[];
}

export interface HelmRenderResult {
  objects: AppliedObject[];
  findings: Finding[];
  note: string;
}

interface Job {
  hr: AppliedObject;
  chart: CachedChart;
  release: string;
  namespace: string;
  values: Record<string, unknown>;
  /**
   * Values decrypted from a SOPS Secret: the render is kept sealed with a key derived from the values
   * (what it holds, a database password in a rendered Secret say, opens only for whoever can decrypt).
   */
  secret: boolean;
}

const isHelmRelease = (o: Obj) => o.kind === "HelmRelease" && groupOf(o) === "helm.toolkit.fluxcd.io";

export async function renderHelmReleases(
  applied: readonly AppliedObject[],
  opts: HelmRenderOptions,
): Promise<HelmRenderResult> {
  const releases = applied.filter((a) => isHelmRelease(a.object));
  const findings: Finding[] = [];
  if (releases.length === 0) return { objects: [], findings, note: "charts: no HelmRelease in the tree" };
  if (!opts.chartsDir) {
    for (const hr of releases)
      findings.push(
        findingAt(
          hr.source,
          ["spec", "chart"],
          `${what(hr.object)}: not rendered, no chart cache (pass --charts <dir>)`,
          "helm.chart-cache",
          {
            severity: "warning",
            pointAtKey: true,
          },
        ),
      );
    return { objects: [], findings, note: `charts: ${releases.length} HelmReleases not rendered (no chart cache)` };
  }
  const cacheName = relative(opts.root, opts.chartsDir) || opts.chartsDir;
  if (!existsSync(join(opts.chartsDir, "index.yaml")))
    throw new Error(`the chart cache ${cacheName} is not a Helm repository (no index.yaml)`);
  const index = readChartIndex(opts.chartsDir, opts.cacheDir);
  const helm = requireTool("helm");
  const jobs: Job[] = [];
  const decrypt = secretDecrypter(opts.root);
  const lookup = (kind: string, namespace: string, name: string) =>
    applied.find(
      (a) =>
        a.object.kind === kind &&
        groupOf(a.object) === "source.toolkit.fluxcd.io" &&
        nameOf(a.object) === name &&
        (namespaceOf(a.object) ?? "default") === namespace,
    )?.object;
  for (const hr of releases) {
    const ref = chartRef(hr.object, lookup);
    if (ref.kind !== "chart") {
      findings.push(
        findingAt(
          hr.source,
          ["spec"],
          `${what(hr.object)}: not rendered (${ref.why} is not resolved offline yet)`,
          "helm.chart",
          {
            severity: "warning",
            pointAtKey: true,
          },
        ),
      );
      continue;
    }
    const resolved = resolveChart(index, ref.chart, ref.version);
    if (!resolved.found) {
      const have = resolved.available.length ? `versions there: ${resolved.available.join(", ")}` : "no version of it";
      findings.push(
        findingAt(
          hr.source,
          ref.via ? ["spec", "chartRef"] : ["spec", "chart", "spec", "version"],
          `${what(hr.object)}: chart ${ref.chart} ${ref.version}${ref.via ? ` (from ${ref.via})` : ""} is not in the chart cache ${cacheName} (${have})`,
          "helm.chart-version",
          { pointAtKey: true },
        ),
      );
      continue;
    }
    findings.push(...checkValuesKeys(hr, resolved.chart, opts.cacheDir));
    const from = await valuesFromTree(hr, applied, decrypt);
    findings.push(...from.findings);
    jobs.push({
      hr,
      chart: resolved.chart,
      release: releaseName(hr.object),
      namespace: releaseNamespace(hr.object),
      values: composeValues(from.refs, (get(hr.object, "spec", "values") ?? {}) as Obj),
      secret: from.secret,
    });
  }
  const kubeVersion = /^v?\d+\.\d+\.\d+/.exec(opts.kubeVersion)?.[0] ?? opts.kubeVersion;
  // Looked up once (a search of PATH and more), when the first chart renders.
  let kustomize: string | undefined;
  const render = (job: Job, apiVersions: readonly string[]) => {
    const request = {
      release: job.release,
      namespace: job.namespace,
      chartFile: job.chart.file,
      kubeVersion: kubeVersion.startsWith("v") ? kubeVersion : `v${kubeVersion}`,
      apiVersions,
      includeCrds: includesCrds(job.hr.object),
      values: job.values,
    };
    const flux = {
      postRenderers: get(job.hr.object, "spec", "postRenderers") ?? null,
      commonMetadata: get(job.hr.object, "spec", "commonMetadata") ?? null,
      origin: [nameOf(job.hr.object), namespaceOf(job.hr.object)],
    };
    kustomize ??= kustomizeCommand().bin;
    const key = renderKey([helm, kustomize], job.chart.file, {
      ...request,
      chartFile: undefined,
      flux,
    });
    const sealedWith = job.secret ? JSON.stringify(job.values) : undefined;
    return cachedObjects(opts.cacheDir, key, () => renderOnce(job, request), sealedWith);
  };
  const renderOnce = async (job: Job, request: TemplateRequest) => {
    const out = await helmTemplate(helm, request);
    if (out.error) return out;
    // Helm hands its post-renderer the release manifest without the hooks, and helm-controller's
    // postRenderers, commonMetadata and origin labels all run as that post-renderer: hooks are
    // applied as the chart wrote them.
    // kustomize (that post-renderer) refuses a mapping with a key twice; Helm alone keeps the last.
    const refused = (out.duplicateKeys ?? []).find((d) => !isHelmHook(d.object));
    if (refused) return { objects: [], error: duplicateKeyError(refused) };
    const hooks = out.objects.filter(isHelmHook);
    let objects = out.objects.filter((o) => !isHelmHook(o));
    for (const step of kustomizePostRenderers(job.hr.object)) {
      const next = await runKustomizePostRenderer(objects, step);
      if (next.error) return { objects: [], error: `postRenderers: ${next.error}` };
      objects = next.objects;
    }
    return { objects: [...withReleaseMetadata(objects, job.hr.object), ...hooks] };
  };
  // First with the API versions of the plain tree; then, when the charts add CRDs, once more for the
  // charts whose templates ask (a cluster running the whole tree advertises all of them).
  const builtin = opts.builtinApis ?? [];
  const plainApis = [...builtin, ...crdApiVersions(applied.map((a) => a.object))];
  let results = await inParallel(jobs, (job) => render(job, plainApis));
  const allApis = [
    ...builtin,
    ...crdApiVersions([...applied.map((a) => a.object), ...results.flatMap((r) => r.objects)]),
  ];
  if (allApis.length > plainApis.length) {
    results = await inParallel(jobs, (job, i) =>
      keptChartReadsApiVersions(job.chart.file, opts.cacheDir)
        ? render(job, allApis)
        : Promise.resolve(results[i] as (typeof results)[number]),
    );
  }
  const crds = [...applied.map((a) => a.object), ...results.flatMap((r) => r.objects)].filter(isCrd);
  const objects: AppliedObject[] = [];
  for (const [i, job] of jobs.entries()) {
    const r = results[i] as (typeof results)[number];
    const chart = {
      release: `${namespaceOf(job.hr.object)}/${nameOf(job.hr.object)}`,
      chart: job.chart.name,
      version: job.chart.version,
    };
    if (r.error) {
      findings.push(
        findingAt(
          job.hr.source,
          ["spec", "chart"],
          `${what(job.hr.object)}: chart ${chart.chart} ${chart.version} does not render: ${r.error}`,
          "helm.render",
          {
            pointAtKey: true,
          },
        ),
      );
      continue;
    }
    for (const object of defaultNamespaces(r.objects, job.namespace, crds))
      objects.push({ object, owner: job.hr.owner, ...(job.hr.source ? { source: job.hr.source } : {}), chart });
  }
  return {
    objects,
    findings,
    note: `charts: ${jobs.length - findings.filter((f) => f.rule === "helm.render").length} of ${releases.length} HelmReleases rendered with helm from ${cacheName} (${objects.length} objects), checked like plain manifests`,
  };
}

function what(hr: Obj): string {
  return `HelmRelease ${namespaceOf(hr) ?? "default"}/${nameOf(hr)}`;
}

/**
 * What a chart knows, read from its archive once and kept beside the renders: keyed by the
 * archive's bytes and by the code that reads it (values-keys.ts), so a change to either reads again.
 */
function chartKnownKeys(chart: CachedChart, cacheDir: string | undefined): KeyTree {
  const key = `keys-${cacheKey([fileDigest(chart.file), fileDigest(VALUES_KEYS_CODE)])}.json`;
  const cached = readCached(cacheDir, key);
  if (cached !== undefined) return keyTreeFromJson(JSON.parse(cached) as KeyTreeJson);
  const known = chartKeyTree(readChartFiles(chart.file));
  writeCached(cacheDir, key, JSON.stringify(keyTreeToJson(known)));
  return known;
}

const VALUES_KEYS_CODE = fileURLToPath(new URL("./values-keys.ts", import.meta.url));

/** A key of spec.values the chart does not know (a typo Helm would silently ignore) is a warning at that key. */
function checkValuesKeys(hr: AppliedObject, chart: CachedChart, cacheDir: string | undefined): Finding[] {
  const known = chartKnownKeys(chart, cacheDir);
  return unknownValuesKeys(get(hr.object, "spec", "values"), known).map((u) =>
    findingAt(
      hr.source,
      ["spec", "values", ...u.path],
      `${what(hr.object)}: chart ${chart.name} ${chart.version} has no value ${u.path.join(".")} (not in its values.yaml or values.schema.json, not read by its templates)${u.closest ? `; closest: ${u.closest}` : ""}`,
      "helm.values-key",
      { severity: "warning", pointAtKey: true },
    ),
  );
}

/**
 * valuesFrom, read from the tree's ConfigMaps and Secrets in the HelmRelease's namespace; a
 * SOPS-encrypted Secret is decrypted first (its values then stay out of the render cache). A
 * Secret that is not in Git (made at run time, e.g. by cert-manager), or one sops cannot decrypt
 * here, gives a placeholder to a targetPath: rendering needs a value, its content is checked where
 * it is made. A missing key is skipped when the reference is optional, as helm-controller does.
 */
async function valuesFromTree(
  hr: AppliedObject,
  applied: readonly AppliedObject[],
  decrypt: (secret: AppliedObject) => Promise<Decrypted>,
): Promise<{ refs: ResolvedValuesRef[]; secret: boolean; findings: Finding[] }> {
  const ns = namespaceOf(hr.object) ?? "default";
  const refs: ResolvedValuesRef[] = [];
  const findings: Finding[] = [];
  let secret = false;
  for (const ref of valuesRefs(hr.object)) {
    const found = applied.find(
      (a) => a.object.kind === ref.kind && nameOf(a.object) === ref.name && (namespaceOf(a.object) ?? ns) === ns,
    );
    const target = ref.targetPath ? { targetPath: ref.targetPath } : {};
    let text: string | undefined;
    if (found && ref.kind === "ConfigMap") text = str(found.object, "data", ref.valuesKey);
    if (found && ref.kind === "Secret") {
      let object: Obj | undefined = found.object;
      if (hasSopsMetadata(found.object)) {
        const plain = await decrypt(found);
        object = "object" in plain ? plain.object : undefined;
        if ("error" in plain)
          findings.push(
            findingAt(
              hr.source,
              ["spec", "valuesFrom", ref.index, "name"],
              `${what(hr.object)}: valuesFrom Secret/${ref.name} is SOPS-encrypted and sops cannot decrypt it here (${plain.error}): rendered without its values`,
              "helm.values-from",
              { severity: "warning" },
            ),
          );
        else secret = true;
      }
      const plain = str(object, "stringData", ref.valuesKey);
      const data = str(object, "data", ref.valuesKey);
      text = plain ?? (data !== undefined ? Buffer.from(data, "base64").toString("utf8") : undefined);
    }
    if (text !== undefined) refs.push({ text, ...target });
    else if (ref.kind === "Secret" && ref.targetPath && !ref.optional)
      refs.push({ text: SECRET_PLACEHOLDER, ...target });
  }
  return { refs, secret, findings };
}

async function inParallel<T, R>(items: readonly T[], fn: (item: T, i: number) => Promise<R>, limit = 4): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const duplicateKeyError = ({ object, paths }: DuplicateKeys) =>
  `${str(object.kind)} ${[namespaceOf(object), nameOf(object)].filter(Boolean).join("/")} holds a key twice at ${paths.join(", ")}: helm-controller's post-render (kustomize) refuses the release; write each key once in the values`;
