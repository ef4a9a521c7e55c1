// Two sites in, what changed out: layer by layer (the rendered infrastructure first, then the tree's
// layers in rollout order), Kustomization by Kustomization, object by object, each with its diff.
import { stringify } from "yaml";
import {
  artifactGroup,
  canonical,
  chartNote,
  describeKustomization,
  isSecretFile,
  isSecretObject,
  kustomizationPath,
  producersOf,
  type Site,
  type SiteObject,
} from "./site.ts";
import { unifiedDiff } from "./unified.ts";

export type Change = "added" | "removed" | "changed";

export interface Entry {
  change: Change;
  /** A rendered file's path, or `Kind namespace/name`. */
  label: string;
  /** The unified diff; "" for a secret, whose values are never shown. */
  diff: string;
  secret: boolean;
  /** Where it came from when that is not the Kustomization itself (a chart). */
  note?: string;
}

export interface Group {
  /** `Kustomization namespace/name`, or a rendered file's folder. */
  title: string;
  /** The Kustomization's folder. */
  path?: string;
  entries: Entry[];
}

export interface LayerDiff {
  name: string;
  /** What the layer holds when its name does not say it. */
  about?: string;
  groups: Group[];
}

export type Counts = Record<Change, number>;

/** A HelmRelease or Kustomization that produced objects on one side only: they are left out, not shown as added or removed. */
export interface Withheld {
  /** `HelmRelease namespace/name` or `Kustomization namespace/name`. */
  producer: string;
  /** The side where it did not render. */
  missingAt: "before" | "after";
  objects: number;
}

export interface SiteDiff {
  layers: LayerDiff[];
  withheld: Withheld[];
}

/** The layer of every file `ktsw render` makes: infrastructure comes first, as in the README. */
export const ARTIFACTS_LAYER = "infrastructure";

const yamlOf = (o: unknown) => stringify(canonical(o), { lineWidth: 0, aliasDuplicateObjects: false });

function entryFor(label: string, before: string | undefined, after: string | undefined, secret: boolean): Entry {
  const change: Change = before === undefined ? "added" : after === undefined ? "removed" : "changed";
  const diff = secret
    ? ""
    : unifiedDiff(before ?? "", after ?? "", {
        from: before === undefined ? "/dev/null" : `a/${label}`,
        to: after === undefined ? "/dev/null" : `b/${label}`,
      });
  return { change, label, diff, secret };
}

const byLabel = (a: Entry, b: Entry) => a.label.localeCompare(b.label);

function artifactLayer(before: Site["artifacts"], after: Site["artifacts"]): LayerDiff | undefined {
  const groups = new Map<string, Entry[]>();
  for (const path of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const a = before[path];
    const b = after[path];
    if (a === b) continue;
    const entry = entryFor(path, a, b, isSecretFile(a ?? "") || isSecretFile(b ?? ""));
    const group = artifactGroup(path);
    groups.set(group, [...(groups.get(group) ?? []), entry]);
  }
  if (groups.size === 0) return undefined;
  return {
    name: ARTIFACTS_LAYER,
    about: "files `ktsw render` makes from ktsw.yaml",
    groups: [...groups].map(([title, entries]) => ({ title, entries })),
  };
}

function objectLayers(before: readonly SiteObject[], after: readonly SiteObject[]): LayerDiff[] {
  const old = new Map(before.map((o) => [o.key, o]));
  const now = new Map(after.map((o) => [o.key, o]));
  const layers = new Map<string, { rank: number; groups: Map<string, Group & { rank: number }> }>();
  for (const key of new Set([...old.keys(), ...now.keys()])) {
    const a = old.get(key);
    const b = now.get(key);
    const before = a && yamlOf(a.object);
    const after = b && yamlOf(b.object);
    if (before === after) continue;
    const o = (b ?? a) as SiteObject;
    const entry = entryFor(o.label, before, after, isSecretObject(o.object) || (a ? isSecretObject(a.object) : false));
    if (o.chart) entry.note = chartNote(o.chart);
    const p = o.placement;
    const layer = layers.get(p.layer) ?? { rank: p.rank, groups: new Map() };
    layer.rank = Math.min(layer.rank, p.rank);
    layers.set(p.layer, layer);
    const path = kustomizationPath(p);
    const group = layer.groups.get(p.kustomization) ?? {
      title: describeKustomization(p),
      ...(path ? { path } : {}),
      entries: [],
      rank: p.rank,
    };
    group.entries.push(entry);
    layer.groups.set(p.kustomization, group);
  }
  return [...layers]
    .sort(([a, x], [b, y]) => x.rank - y.rank || a.localeCompare(b))
    .map(([name, layer]) => ({
      name,
      groups: [...layer.groups.values()]
        .sort((x, y) => x.rank - y.rank || x.title.localeCompare(y.title))
        .map(({ rank: _, ...group }) => ({ ...group, entries: group.entries.sort(byLabel) })),
    }));
}

/**
 * A chart that did not render, or a Kustomization that did not build, on one side has nothing there
 * to pair with: its objects on the other side would read as wholly added or removed. They are left
 * out, and said to be.
 */
function withheldProducers(before: Site, after: Site): Withheld[] {
  const count = (site: Site, producer: string) => site.objects.filter((o) => producersOf(o).includes(producer)).length;
  const oneSided = (missing: Site, other: Site, missingAt: Withheld["missingAt"]) =>
    (missing.failed ?? [])
      .filter((producer) => !(other.failed ?? []).includes(producer))
      .map((producer) => ({ producer, missingAt, objects: count(other, producer) }))
      .filter((w) => w.objects > 0);
  return [...oneSided(before, after, "before"), ...oneSided(after, before, "after")];
}

/** Every difference between the two sites (no layer when there is none), and what could not be compared. */
export function compareSites(before: Site, after: Site): SiteDiff {
  const withheld = withheldProducers(before, after);
  const left = new Set(withheld.map((w) => w.producer));
  const compared = (site: Site) => site.objects.filter((o) => !producersOf(o).some((p) => left.has(p)));
  const artifacts = artifactLayer(before.artifacts, after.artifacts);
  return {
    layers: [...(artifacts ? [artifacts] : []), ...objectLayers(compared(before), compared(after))],
    withheld,
  };
}

export function countChanges(layers: readonly LayerDiff[]): Counts {
  const counts: Counts = { added: 0, removed: 0, changed: 0 };
  for (const layer of layers) for (const g of layer.groups) for (const e of g.entries) counts[e.change]++;
  return counts;
}
