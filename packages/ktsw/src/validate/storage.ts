// Every volume the tree claims must come from a StorageClass the tree defines: a claim on a class
// nobody creates, or on the default class when there is none (or two), stays Pending, and with it
// the Kustomization that waits for its pods (the NATS JetStream volumes before Longhorn was in the
// tree). The classes are read from the applied objects, chart-rendered ones included.
import type { Finding } from "../diagnostics.ts";
import { arr, get, groupOf, nameOf, type Obj, str } from "./flux.ts";
import { findingFor } from "./rendered.ts";
import type { AppliedObject } from "./walk.ts";

export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";

export interface VolumeClaim {
  at: AppliedObject;
  /** Where the class is (or would be) named in the object. */
  path: (string | number)[];
  /** The class named; undefined: the cluster's default class. */
  storageClass: string | undefined;
}

const isKind = (o: Obj, group: string, kind: string) => o.kind === kind && groupOf(o) === group;

/** One claim at `path` whose class is at `path` + `classKey`. */
function claimAt(at: AppliedObject, path: (string | number)[], classKey: string): VolumeClaim {
  return { at, path: [...path, classKey], storageClass: str(at.object, ...path, classKey) };
}

/**
 * The volume claims of the applied objects: PersistentVolumeClaims, StatefulSets' claim templates,
 * CloudNativePG Clusters (data and WAL volumes), VMSingle's storage and VMAlertmanager's claim template. A claim with
 * `storageClassName: ""` asks for a pre-made volume, not a class, and is left out.
 */
export function volumeClaims(applied: readonly AppliedObject[]): VolumeClaim[] {
  const claims = applied.flatMap((a): VolumeClaim[] => {
    const o = a.object;
    if (isKind(o, "", "PersistentVolumeClaim")) return [claimAt(a, ["spec"], "storageClassName")];
    if (isKind(o, "apps", "StatefulSet"))
      return arr(o, "spec", "volumeClaimTemplates").map((_, i) =>
        claimAt(a, ["spec", "volumeClaimTemplates", i, "spec"], "storageClassName"),
      );
    if (isKind(o, "postgresql.cnpg.io", "Cluster"))
      return ["storage", "walStorage"]
        .filter((key) => get(o, "spec", key) !== undefined)
        .map((key) => claimAt(a, ["spec", key], "storageClass"));
    if (isKind(o, "operator.victoriametrics.com", "VMSingle") && get(o, "spec", "storage") !== undefined)
      return [claimAt(a, ["spec", "storage"], "storageClassName")];
    // VMAlertmanager's storage is a claim template (its StatefulSet's) or an emptyDir, which claims nothing.
    if (
      isKind(o, "operator.victoriametrics.com", "VMAlertmanager") &&
      get(o, "spec", "storage", "volumeClaimTemplate") !== undefined
    )
      return [claimAt(a, ["spec", "storage", "volumeClaimTemplate", "spec"], "storageClassName")];
    return [];
  });
  return claims.filter((c) => c.storageClass !== "");
}

/** The StorageClasses among the applied objects, by name. */
export function storageClasses(applied: readonly AppliedObject[]): Map<string, AppliedObject> {
  return new Map(
    applied
      .filter((a) => isKind(a.object, "storage.k8s.io", "StorageClass"))
      .map((a): [string, AppliedObject] => [nameOf(a.object), a]),
  );
}

export function isDefaultClass(sc: Obj): boolean {
  return get(sc, "metadata", "annotations", DEFAULT_CLASS_ANNOTATION) === "true";
}

export function checkStorageClasses(applied: readonly AppliedObject[]): Finding[] {
  const classes = storageClasses(applied);
  const defaults = [...classes.values()].filter((a) => isDefaultClass(a.object));
  const findings: Finding[] = [];
  if (defaults.length > 1)
    for (const d of defaults)
      findings.push(
        findingFor(
          d,
          ["metadata", "annotations", DEFAULT_CLASS_ANNOTATION],
          `one of ${defaults.length} default StorageClasses (${defaults.map((x) => nameOf(x.object)).join(", ")}): a claim without a class gets the newest, so which one is chance`,
          "storage.class",
        ),
      );
  for (const claim of volumeClaims(applied)) {
    const what = `${String(claim.at.object.kind)} ${nameOf(claim.at.object)}`;
    if (claim.storageClass === undefined) {
      if (defaults.length === 0)
        findings.push(
          findingFor(
            claim.at,
            claim.path,
            `${what} claims a volume of the default StorageClass, and the tree defines none: it stays Pending`,
            "storage.class",
          ),
        );
    } else if (!classes.has(claim.storageClass))
      findings.push(
        findingFor(
          claim.at,
          claim.path,
          `${what} claims a volume of StorageClass ${claim.storageClass}, which the tree does not define: it stays Pending`,
          "storage.class",
        ),
      );
  }
  return findings;
}
