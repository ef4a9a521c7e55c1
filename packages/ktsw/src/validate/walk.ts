// Follows the Flux graph the way the cluster would: build the cluster folder, find the Flux
// Kustomizations it applies, build their paths, substitute their postBuild variables, and repeat
// until no new Kustomization appears. Each wave's builds run in parallel.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { type Finding, finding } from "../diagnostics.ts";
import { arr, get, isFluxKustomization, nameOf, namespaceOf, normalizeFluxPath, type Obj, str } from "./flux.ts";
import { type BuildCache, buildKey, type FluxBuildOptions, fluxBuildOptions, kustomizeBuildAll } from "./kustomize.ts";
import { type OfflineSource, readOfflineSources, resolveOffline } from "./offline-sources.ts";
import {
  invalidNameMessage,
  keptSubstitution,
  mayReferenceVars,
  substitutionDisabled,
  substitutionRuns,
} from "./post-build.ts";
import { folderDigest, gitSourceDigest } from "./source-digest.ts";
import { findingAt, objectKey, type SourceDoc, type SourceTree } from "./sources.ts";
import { isValidVarName, referencedVars } from "./substitute.ts";
import { withTargetNamespace } from "./target-namespace.ts";

/** Value given to keys of SOPS-encrypted Secrets: their names are known, their values are not. */
export const SECRET_PLACEHOLDER = "sops-encrypted-value";

export interface AppliedObject {
  object: Obj;
  /** The Flux Kustomization (`namespace/name`) that applies it; "" for the cluster folder itself. */
  owner: string;
  source?: SourceDoc;
  /** Set on objects rendered from a HelmRelease's chart; `source` is then the HelmRelease. */
  chart?: RenderedFrom;
  /**
   * Set on objects built from an upstream source's offline copy (e.g. `keycloak-k8s-resources
   * 26.0.0`); `source` is then the Flux Kustomization that applies them.
   */
  upstream?: string;
}

export interface RenderedFrom {
  /** `namespace/name` of the HelmRelease. */
  release: string;
  chart: string;
  version: string;
}

export interface KsNode {
  id: string;
  object: Obj;
  source?: SourceDoc;
  /** Repository-relative folder. */
  path: string;
  objects: AppliedObject[];
  findings: Finding[];
  /**
   * Set when the Kustomization reads another source than this repository (e.g. an upstream
   * project's manifests at a pinned tag): its path is not in this tree and cannot be built offline.
   */
  external?: string;
  /** An external source resolved offline: the absolute folder built and what it is a copy of. */
  offline?: { dir: string; label: string };
  /** The Flux Kustomization that applies this one ("" for the cluster folder's own objects). */
  parent: string;
}

export interface WalkOptions {
  /** Offline copies of upstream Git sources (a folder with SOURCES.tsv); none: they are not built. */
  manifestsDir?: string;
  /** Where kustomize builds are kept between runs (by the files of their source); none: always built. */
  buildCacheDir?: string;
  /** Where postBuild substitutions are kept between runs (by object and variables); none: always made. */
  substitutionCacheDir?: string;
}

export interface WalkResult {
  nodes: Map<string, KsNode>;
  objects: AppliedObject[];
  findings: Finding[];
}

export function ksId(o: Obj): string {
  return `${namespaceOf(o) ?? "default"}/${nameOf(o)}`;
}

/** Finds where a built object came from; kustomize output has no positions. */
export function sourceOf(
  _tree: SourceTree,
  index: Map<string, SourceDoc[]>,
  o: Obj,
  dir: string,
): SourceDoc | undefined {
  const candidates = index.get(objectKey(o)) ?? [];
  return candidates.find((c) => c.file.startsWith(`${dir}/`)) ?? candidates[0];
}

/** Position of the first `${NAME` in the object's source file, for undefined-variable errors. */
function varPosition(
  tree: SourceTree,
  src: SourceDoc | undefined,
  name: string,
): { file: string; line: number; col: number } | undefined {
  if (!src) return undefined;
  const text = tree.texts.get(src.file) ?? "";
  const at = text.indexOf(`\${${name}`);
  if (at < 0) return undefined;
  const pos = src.lines.linePos(at);
  return { file: src.file, line: pos.line, col: pos.col };
}

/**
 * Variables a Flux Kustomization's postBuild provides, from the tree's ConfigMaps and Secrets, and
 * a finding at the definition of each name Flux refuses.
 */
function variablesFor(ks: Obj, ksSrc: SourceDoc | undefined, applied: readonly AppliedObject[]) {
  const vars: Record<string, string> = {};
  const definedAt = new Map<string, { src: SourceDoc | undefined; path: (string | number)[] }>();
  const define = (name: string, value: string, src: SourceDoc | undefined, path: (string | number)[]) => {
    vars[name] = value;
    definedAt.set(name, { src, path });
  };
  const findings: Finding[] = [];
  const ns = namespaceOf(ks) ?? "default";
  for (const [i, ref] of arr(ks, "spec", "postBuild", "substituteFrom").entries()) {
    const kind = str(ref, "kind");
    const name = str(ref, "name");
    const found = applied.find(
      (a) => a.object.kind === kind && nameOf(a.object) === name && (namespaceOf(a.object) ?? ns) === ns,
    );
    if (!found) {
      if (get(ref, "optional") !== true) {
        findings.push(
          findingAt(
            ksSrc,
            ["spec", "postBuild", "substituteFrom", i, "name"],
            `substituteFrom ${kind}/${name} is not defined anywhere in the tree (namespace ${ns})`,
            "flux.substitute-from",
          ),
        );
      }
      continue;
    }
    if (kind === "ConfigMap") {
      for (const [k, v] of Object.entries((get(found.object, "data") ?? {}) as Obj))
        define(k, String(v).replaceAll("\n", ""), found.source, ["data", k]);
    } else {
      for (const field of ["data", "stringData"]) {
        for (const k of Object.keys((get(found.object, field) ?? {}) as Obj))
          define(k, SECRET_PLACEHOLDER, found.source, [field, k]);
      }
    }
  }
  for (const [k, v] of Object.entries((get(ks, "spec", "postBuild", "substitute") ?? {}) as Obj))
    define(k, String(v).replaceAll("\n", ""), ksSrc, ["spec", "postBuild", "substitute", k]);
  const invalidNames = [...definedAt]
    .filter(([name]) => !isValidVarName(name))
    .map(([name, at]) =>
      findingAt(at.src, at.path, invalidNameMessage(name, ksId(ks)), "flux.substitute", { pointAtKey: true }),
    );
  return { vars, findings, invalidNames };
}

export async function walkFluxGraph(
  root: string,
  clusterPath: string,
  tree: SourceTree,
  index: Map<string, SourceDoc[]>,
  opts: WalkOptions = {},
): Promise<WalkResult> {
  const offlineCopies = opts.manifestsDir ? readOfflineSources(opts.manifestsDir) : undefined;
  const cache = opts.buildCacheDir ? buildCache(opts.buildCacheDir, root, offlineCopies ?? []) : undefined;
  const nodes = new Map<string, KsNode>();
  let objects: AppliedObject[] = [];
  const findings: Finding[] = [];
  const clusterDir = normalizeFluxPath(clusterPath);
  const built = new Map<string, Obj[]>();

  const discover = (applied: readonly AppliedObject[]): KsNode[] => {
    const found: KsNode[] = [];
    for (const a of applied) {
      if (!isFluxKustomization(a.object)) continue;
      const id = ksId(a.object);
      const existing = nodes.get(id);
      if (existing) {
        // The same object reached twice through one file is fine (the root re-applies its folder);
        // two different documents with one name means one silently overwrites the other.
        if (existing.source && a.source && existing.source !== a.source) {
          existing.findings.push(
            findingAt(
              a.source,
              ["metadata", "name"],
              `Flux Kustomization ${id} is defined twice (also ${existing.source.file}:${existing.source.line})`,
              "flux.duplicate",
            ),
          );
        }
        continue;
      }
      const node: KsNode = {
        id,
        object: a.object,
        source: a.source,
        path: normalizeFluxPath(str(a.object, "spec", "path") ?? ""),
        objects: [],
        findings: [],
        parent: a.owner,
      };
      nodes.set(id, node);
      const source = sourceRefId(a.object);
      if (ownSource && source !== ownSource) {
        node.external = source;
        if (offlineCopies && resolveExternal(node, objects, offlineCopies)) found.push(node);
        continue;
      }
      const abs = join(root, node.path);
      if (!existsSync(abs) || !statSync(abs).isDirectory()) {
        node.findings.push(
          findingAt(node.source, ["spec", "path"], `path ${str(a.object, "spec", "path")} does not exist`, "flux.path"),
        );
        continue;
      }
      found.push(node);
    }
    return found;
  };

  // Wave 0: the cluster folder, as `flux bootstrap` first applies it.
  const [rootBuild] = await kustomizeBuildAll([join(root, clusterDir)], cache);
  built.set(clusterDir, rootBuild?.objects ?? []);
  if (rootBuild?.error)
    findings.push(
      finding({ file: clusterDir }, `kustomize build ${clusterDir} failed: ${rootBuild.error}`, "flux.build"),
    );
  objects = (rootBuild?.objects ?? []).map((o) => ({
    object: o,
    owner: "",
    source: sourceOf(tree, index, o, clusterDir),
  }));
  // This repository is whatever source the root Kustomization (the one syncing the cluster folder) reads.
  const root0 = objects.find(
    (o) => isFluxKustomization(o.object) && normalizeFluxPath(str(o.object, "spec", "path") ?? "") === clusterDir,
  );
  const ownSource = root0 ? sourceRefId(root0.object) : undefined;
  let pending = discover(objects);

  while (pending.length > 0) {
    // Each Kustomization builds its folder with its own Flux fields (targetNamespace, patches...).
    const jobs = new Map<string, { dir: string; opts?: FluxBuildOptions }>();
    for (const n of pending) {
      const opts = fluxBuildOptions(n.object);
      const key = buildKey(n.offline?.dir ?? n.path, opts);
      if (!built.has(key)) jobs.set(key, { dir: n.offline?.dir ?? join(root, n.path), ...(opts ? { opts } : {}) });
    }
    const keys = [...jobs.keys()];
    const results = await kustomizeBuildAll(
      keys.map((k) => jobs.get(k) as { dir: string; opts?: FluxBuildOptions }),
      cache,
    );
    const errors = new Map<string, string>();
    for (const [i, r] of results.entries()) {
      built.set(keys[i] as string, r.objects);
      if (r.error)
        errors.set(
          keys[i] as string,
          // Paths as a reader knows them: repository-relative, an offline copy's relative to the copies.
          [root, opts.manifestsDir]
            .filter((dir) => dir !== undefined)
            .reduce((text, dir) => text.replaceAll(`${dir}/`, ""), r.error)
            .replace(/\/tmp\/ktsw-[^/ ]*\//g, ""),
        );
    }
    const next: KsNode[] = [];
    for (const node of pending) {
      const key = buildKey(node.offline?.dir ?? node.path, fluxBuildOptions(node.object));
      const error = errors.get(key);
      if (error)
        node.findings.push(
          findingAt(node.source, ["spec", "path"], `kustomize build ${node.path} failed: ${error}`, "flux.build"),
        );
      node.objects = applyPostBuild(node, built.get(key) ?? [], tree, index, objects, opts.substitutionCacheDir);
      // The root Kustomization re-applies the cluster folder: its objects replace wave 0's ownerless ones.
      if (node.path === clusterDir) objects = objects.filter((o) => o.owner !== "");
      objects.push(...node.objects);
      next.push(...discover(node.objects));
    }
    pending = next;
  }
  // Objects of the cluster folder are applied by the root Kustomization (the one syncing that folder).
  const rootId = [...nodes.values()].find((n) => n.path === clusterDir)?.id ?? "";
  for (const n of nodes.values()) if (n.parent === "" && n.id !== rootId) n.parent = rootId;
  return { nodes, objects, findings };
}

/** Builds keyed by the files of the source they come from: this repository, or an offline copy. */
function buildCache(dir: string, root: string, copies: readonly OfflineSource[]): BuildCache {
  const digests = new Map<string, string | undefined>();
  const once = (source: string, digest: (dir: string) => string | undefined) => {
    if (!digests.has(source)) digests.set(source, digest(source));
    return digests.get(source);
  };
  return {
    dir,
    sourceDigestOf: (buildDir) => {
      const copy = copies.find((c) => buildDir === c.dir || buildDir.startsWith(`${c.dir}/`));
      return copy ? once(copy.dir, folderDigest) : once(root, gitSourceDigest);
    },
  };
}

/**
 * A Kustomization reading a GitRepository that points at the internet builds from the offline copy
 * of that repository at the same tag; when there is none, an error at its sourceRef says which tag
 * it wants and which the copies have.
 */
function resolveExternal(node: KsNode, known: readonly AppliedObject[], copies: readonly OfflineSource[]): boolean {
  const [kind, ns, name] = (node.external ?? "").split("/");
  if (kind !== "GitRepository") return false;
  const git = known.find(
    (a) => a.object.kind === kind && nameOf(a.object) === name && (namespaceOf(a.object) ?? "default") === ns,
  );
  if (!git) return false; // checkSourceRefs reports a missing source
  const resolved = resolveOffline(git.object, node.path, copies);
  if (resolved.found && existsSync(resolved.dir)) {
    node.offline = { dir: resolved.dir, label: resolved.label };
    return true;
  }
  const why = resolved.found ? `the offline copy has no ${node.path}` : resolved.error;
  node.findings.push(
    findingAt(node.source, ["spec", "sourceRef"], `${node.external}: ${why}`, "flux.offline-source", {
      pointAtKey: true,
    }),
  );
  return false;
}

/** `Kind/namespace/name` of a Flux Kustomization's sourceRef (namespace defaults to its own). */
export function sourceRefId(ks: Obj): string {
  const ns = str(ks, "spec", "sourceRef", "namespace") ?? namespaceOf(ks) ?? "default";
  return `${str(ks, "spec", "sourceRef", "kind")}/${ns}/${str(ks, "spec", "sourceRef", "name")}`;
}

/** Flux postBuild: per object, substitute on its YAML, then parse it back. */
function applyPostBuild(
  node: KsNode,
  raw: Obj[],
  tree: SourceTree,
  index: Map<string, SourceDoc[]>,
  known: AppliedObject[],
  keptIn: string | undefined,
): AppliedObject[] {
  const hasPostBuild = get(node.object, "spec", "postBuild") !== undefined;
  const { vars, findings, invalidNames } = hasPostBuild
    ? variablesFor(node.object, node.source, known)
    : { vars: {}, findings: [], invalidNames: [] };
  node.findings.push(...findings);
  const substitutes =
    hasPostBuild && substitutionRuns(vars, str(node.object, "spec", "postBuild", "substituteStrategy"));
  // Why Flux would leave a `${...}` in place, when it would.
  const literally = !hasPostBuild
    ? "has no postBuild substitution"
    : "defines no postBuild variable, so Flux skips substitution (unless substituteStrategy: Always)";
  let substituted = false;
  const targetNamespace = str(node.object, "spec", "targetNamespace");
  const out: AppliedObject[] = [];
  const upstream = node.offline ? { upstream: node.offline.label } : {};
  for (const built of raw) {
    // An upstream copy's objects have no document in this repository: their Kustomization stands for them.
    const source = node.offline ? node.source : sourceOf(tree, index, built, node.path);
    // A substitution problem points at the variable in its source file when it can be found there.
    const variableFinding = (name: string, message: string): Finding =>
      finding(varPosition(tree, source, name) ?? { file: source?.file ?? "" }, message, "flux.substitute");
    const o = withTargetNamespace(built, targetNamespace);
    if (substitutionDisabled(o)) {
      out.push({ object: o, owner: node.id, source, ...upstream });
      continue;
    }
    if (!substitutes) {
      for (const name of new Set(mayReferenceVars(o) ? referencedVars(stringify(o)) : [])) {
        node.findings.push(
          variableFinding(
            name,
            `\${${name}} is used but Flux Kustomization ${node.id} ${literally}: it would be applied literally`,
          ),
        );
      }
      out.push({ object: o, owner: node.id, source, ...upstream });
      continue;
    }
    substituted = true;
    const result = keptSubstitution(o, vars, keptIn);
    for (const name of result.undefinedVars) {
      node.findings.push(
        variableFinding(
          name,
          `undefined variable \${${name}}: not in postBuild.substitute nor any substituteFrom of ${node.id}`,
        ),
      );
    }
    for (const message of result.problems) node.findings.push(findingAt(source, [], message, "flux.substitute"));
    if (result.object) out.push({ object: result.object, owner: node.id, source, ...upstream });
  }
  // Flux checks the names before substituting each object: one bad name fails them all.
  if (substituted) node.findings.push(...invalidNames);
  return out;
}
