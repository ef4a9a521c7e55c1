// What the sim's volume stand-in does, decided from the API's lists: kwok runs no CSI driver, so a claim of a
// StorageClass whose provisioner is a CSI driver (Longhorn's `driver.longhorn.io`) would stay Pending forever, and
// with it every pod that mounts it. For each such claim this plans the PersistentVolume the driver's external
// provisioner would create (named `pvc-<claim uid>`, pre-bound to the claim, of the class's reclaim policy); the
// controller manager's real PV controller then binds them, and the real scheduler places the pods. A stand-in volume
// whose claim is gone is deleted, as the provisioner would on `Delete`. Pure: lists in, actions out.

/** The provisioners the sim stands in for: those the tree installs and no process of the sim runs. */
export const standInProvisioners = new Set(["driver.longhorn.io"]);

/** Marks a volume the stand-in made (and lets `status` or a person tell them apart). */
export const standInAnnotation = "sim.ktsw.dev/stand-in";

interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}
export interface StorageClass {
  metadata: Meta;
  provisioner: string;
  reclaimPolicy?: string;
  volumeBindingMode?: string;
}
export interface Claim {
  metadata: Meta;
  spec: {
    storageClassName?: string | null;
    volumeName?: string;
    accessModes?: string[];
    volumeMode?: string;
    resources?: { requests?: { storage?: string } };
  };
  status?: { phase?: string };
}
export interface Volume {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec: {
    claimRef?: { apiVersion?: string; kind?: string; namespace?: string; name?: string; uid?: string };
    storageClassName?: string;
    [key: string]: unknown;
  };
  status?: { phase?: string };
}

export type VolumeAction =
  | { action: "provision"; claim: string; volume: Volume; storageClass: string; provisioner: string }
  | { action: "delete"; volume: string; claim: string }
  | { action: "skip"; claim: string; why: string };

const claimId = (c: { namespace?: string; name?: string }) => `${c.namespace ?? "default"}/${c.name ?? ""}`;
const selectedNode = "volume.kubernetes.io/selected-node";

/** The PersistentVolume a CSI external provisioner makes for this claim of this class. */
export function volumeFor(claim: Claim, sc: StorageClass): Volume {
  const node = claim.metadata.annotations?.[selectedNode];
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name: `pvc-${claim.metadata.uid}`,
      annotations: {
        "pv.kubernetes.io/provisioned-by": sc.provisioner,
        [standInAnnotation]: `no ${sc.provisioner} CSI driver runs on the sim: a volume in name only`,
      },
    },
    spec: {
      capacity: { storage: claim.spec.resources?.requests?.storage ?? "1Gi" },
      accessModes: claim.spec.accessModes ?? ["ReadWriteOnce"],
      volumeMode: claim.spec.volumeMode ?? "Filesystem",
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
      storageClassName: sc.metadata.name,
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: claim.metadata.namespace ?? "default",
        name: claim.metadata.name,
        uid: claim.metadata.uid,
      },
      csi: { driver: sc.provisioner, volumeHandle: `pvc-${claim.metadata.uid}` },
      // WaitForFirstConsumer: the volume lives where the scheduler chose to run the pod.
      ...(node
        ? {
            nodeAffinity: {
              required: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] },
                ],
              },
            },
          }
        : {}),
    },
  };
}

/** The claims to give a stand-in volume, and the stand-in volumes to delete. */
export function planVolumes(
  classes: readonly StorageClass[],
  claims: readonly Claim[],
  volumes: readonly Volume[],
): VolumeAction[] {
  const byName = new Map(classes.map((c) => [c.metadata.name, c]));
  const claimed = new Set(volumes.map((v) => v.spec.claimRef?.uid).filter(Boolean));
  const out: VolumeAction[] = [];
  for (const claim of claims) {
    const id = claimId(claim.metadata);
    if (claim.metadata.deletionTimestamp || claim.spec.volumeName || claimed.has(claim.metadata.uid)) continue;
    // The API server's DefaultStorageClass admission has already written the default class into a claim that named
    // none; a claim with "" asks for no class (static binding only).
    const sc = claim.spec.storageClassName ? byName.get(claim.spec.storageClassName) : undefined;
    if (!sc || !standInProvisioners.has(sc.provisioner)) continue;
    if (sc.volumeBindingMode === "WaitForFirstConsumer" && !claim.metadata.annotations?.[selectedNode]) {
      out.push({ action: "skip", claim: id, why: "WaitForFirstConsumer: no pod using it is scheduled yet" });
      continue;
    }
    out.push({
      action: "provision",
      claim: id,
      volume: volumeFor(claim, sc),
      storageClass: sc.metadata.name,
      provisioner: sc.provisioner,
    });
  }
  const claimUids = new Set(claims.map((c) => c.metadata.uid));
  for (const v of volumes) {
    if (!v.metadata.annotations?.[standInAnnotation] || v.metadata.deletionTimestamp) continue;
    const released = v.status?.phase === "Released" || !claimUids.has(v.spec.claimRef?.uid);
    if (released && v.spec.persistentVolumeReclaimPolicy !== "Retain")
      out.push({ action: "delete", volume: v.metadata.name, claim: claimId(v.spec.claimRef ?? {}) });
  }
  return out;
}
