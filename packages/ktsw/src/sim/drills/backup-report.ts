// The backup drill's analysis: which objects of the backed-up namespaces a restore must bring back, whether each came
// back with the same content, and the timeline. Pure: API lists in, report out.
import { createHash } from "node:crypto";

export interface ApiObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    ownerReferences?: readonly unknown[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface ApiList {
  items: ApiObject[];
}

/** Kinds the cluster writes for itself, never declared by anyone, so no backup is asked to bring them back: Events
 *  (Velero never restores them) and the endpoints the control plane derives from Services and Pods. */
const DERIVED_KINDS = new Set(["Event", "Endpoints", "EndpointSlice"]);

/** Fields the API server hands out anew when an object is created again, so a restored object differs there by
 *  design: a Service's cluster IPs (Velero drops them so the restore cannot collide with another Service) and the
 *  volume a claim was bound to (the old one went with the namespace: without snapshots the claim binds afresh). */
const REASSIGNED: Readonly<Record<string, readonly string[]>> = {
  Service: ["clusterIP", "clusterIPs"],
  PersistentVolumeClaim: ["volumeName"],
};

export const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "core");

/** `group/Kind namespace/name`: one object, whatever version it was read at. */
export const objectId = (o: ApiObject) =>
  `${groupOf(o.apiVersion)}/${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** The objects a restore must bring back: every one nobody owns. Owned objects (a Deployment's ReplicaSets and
 *  Pods, an operator's children) are made again by their owner once it is back, so their names are not promised. */
export const declared = (list: ApiList): ApiObject[] =>
  list.items.filter((o) => !DERIVED_KINDS.has(o.kind) && (o.metadata.ownerReferences ?? []).length === 0);

/** What an object says, without what the cluster records about it (metadata, status): data for ConfigMaps and
 *  Secrets, spec (less the reassigned fields) for the rest, the whole body for kinds with neither. */
export function content(o: ApiObject): unknown {
  const { apiVersion: _v, kind: _k, metadata: _m, status: _s, ...body } = o;
  if (o.kind === "ConfigMap" || o.kind === "Secret") return { data: o.data ?? {}, binaryData: o.binaryData ?? {} };
  const spec = body.spec;
  if (spec && typeof spec === "object") {
    const kept = { ...(spec as Record<string, unknown>) };
    for (const field of REASSIGNED[o.kind] ?? []) delete kept[field];
    return { ...body, spec: kept };
  }
  return body;
}

/** JSON with sorted keys, so two readings of equal content hash alike. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export const digest = (o: ApiObject) =>
  createHash("sha256")
    .update(canonical(content(o)))
    .digest("hex")
    .slice(0, 16);

/** Top-level fields of content() that differ between two readings: where a changed object changed. */
export function changedFields(before: ApiObject, after: ApiObject): string[] {
  const a = content(before) as Record<string, unknown>;
  const b = content(after) as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return fields.flatMap((f) => {
    const [x, y] = [a[f], b[f]];
    if (x && y && typeof x === "object" && typeof y === "object" && !Array.isArray(x)) {
      const inner = [...new Set([...Object.keys(x), ...Object.keys(y as object)])].sort();
      return inner
        .filter((k) => canonical((x as Record<string, unknown>)[k]) !== canonical((y as Record<string, unknown>)[k]))
        .map((k) => `${f}.${k}`);
    }
    return canonical(x) === canonical(y) ? [] : [f];
  });
}

export interface Comparison {
  /** Declared before, back with the same content. */
  same: string[];
  /** Declared before, back with other content: the fields that differ. */
  changed: { id: string; fields: string[] }[];
  /** Declared before, not there after the restore. */
  missing: string[];
}

export function compare(before: readonly ApiObject[], after: ApiList): Comparison {
  const now = new Map(after.items.map((o) => [objectId(o), o]));
  const result: Comparison = { same: [], changed: [], missing: [] };
  for (const o of before) {
    const id = objectId(o);
    const back = now.get(id);
    if (!back) result.missing.push(id);
    else if (digest(back) === digest(o)) result.same.push(id);
    else result.changed.push({ id, fields: changedFields(o, back) });
  }
  return result;
}

export interface BackupPhase {
  what: string;
  /** Seconds the phase took. */
  seconds: number;
}

export interface BackupReport {
  namespaces: string[];
  /** Where the backup's spec came from (the tree's schedule, or the namespaces asked for). */
  from: string;
  phases: BackupPhase[];
  /** Velero's verdict on each run: phase, items, warnings, errors. */
  backup?: { phase: string; items: number; warnings: number; errors: number };
  restore?: { phase: string; items: number; warnings: number; errors: number };
  comparison?: Comparison;
  /** Velero's own words on the restore's warnings and errors (its results file), said when something is missing. */
  restoreResults?: string[];
  /** What went wrong before a comparison could be made. */
  failure?: string;
  interrupted?: boolean;
}

export const backupPassed = (r: BackupReport) =>
  !r.interrupted &&
  !r.failure &&
  r.backup?.phase === "Completed" &&
  r.restore?.phase === "Completed" &&
  r.comparison !== undefined &&
  r.comparison.missing.length === 0 &&
  r.comparison.changed.length === 0;

export function formatBackup(r: BackupReport): string[] {
  const run = (what: string, v: BackupReport["backup"]) =>
    v ? `${what}: ${v.phase}, ${v.items} items, ${v.warnings} warnings, ${v.errors} errors` : `${what}: not run`;
  const lines = [
    `namespaces ${r.namespaces.join(", ")} (${r.from})`,
    run("backup", r.backup),
    run("restore", r.restore),
  ];
  for (const p of r.phases) lines.push(`  ${p.seconds.toFixed(1).padStart(6)} s  ${p.what}`);
  const c = r.comparison;
  if (c) {
    lines.push(`${c.same.length} declared objects back unchanged`);
    for (const ch of c.changed) lines.push(`  ✗ changed: ${ch.id} (${ch.fields.join(", ")})`);
    for (const id of c.missing) lines.push(`  ✗ NOT back: ${id}`);
  }
  if (r.restoreResults?.length) lines.push("Velero's restore results:", ...r.restoreResults.map((l) => `  ${l}`));
  if (r.failure) lines.push(`✗ ${r.failure}`);
  if (r.interrupted) lines.push("interrupted: Flux was resumed, so Git puts back whatever the restore did not");
  return lines;
}

/** Velero's restore results file (`restore-NAME-results.gz`, JSON): each warning and error as `kind (where): text`. */
export interface RestoreResults {
  warnings?: ResultGroup;
  errors?: ResultGroup;
}
interface ResultGroup {
  velero?: string[];
  cluster?: string[];
  namespaces?: Record<string, string[]>;
}

export function restoreResultLines(results: RestoreResults): string[] {
  const group = (what: string, g: ResultGroup | undefined) => [
    ...(g?.velero ?? []).map((m) => `${what} (velero): ${m}`),
    ...(g?.cluster ?? []).map((m) => `${what} (cluster): ${m}`),
    ...Object.entries(g?.namespaces ?? {}).flatMap(([ns, ms]) => ms.map((m) => `${what} (${ns}): ${m}`)),
  ];
  return [...group("error", results.errors), ...group("warning", results.warnings)];
}
