// The sim's volume stand-in, decided: a volume for each unbound claim of a class whose CSI driver the sim does not run,
// pre-bound to it the way an external provisioner makes it; nothing for other classes or claims already served; the
// stand-in's volumes deleted once their claim is gone.
import { describe, expect, test } from "vitest";
import { type Claim, planVolumes, type StorageClass, type Volume } from "../../src/sim/volumes-plan.ts";

const longhorn: StorageClass = {
  metadata: { name: "longhorn" },
  provisioner: "driver.longhorn.io",
  reclaimPolicy: "Delete",
};
const local: StorageClass = { metadata: { name: "local" }, provisioner: "rancher.io/local-path" };
const claim = (name: string, storageClassName: string | undefined, extra: Partial<Claim["spec"]> = {}): Claim => ({
  metadata: { name, namespace: "nats", uid: `uid-${name}` },
  spec: {
    ...(storageClassName !== undefined ? { storageClassName } : {}),
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: "10Gi" } },
    ...extra,
  },
});

describe("the sim's volume stand-in", () => {
  test("a claim of a Longhorn class gets the volume Longhorn's provisioner would make, pre-bound to it", () => {
    const [action] = planVolumes([longhorn], [claim("js-nats-0", "longhorn")], []);
    expect(action?.action).toBe("provision");
    if (action?.action !== "provision") return;
    expect(action.claim).toBe("nats/js-nats-0");
    expect(action.volume.metadata.name).toBe("pvc-uid-js-nats-0");
    expect(action.volume.metadata.annotations?.["pv.kubernetes.io/provisioned-by"]).toBe("driver.longhorn.io");
    expect(action.volume.spec).toMatchObject({
      capacity: { storage: "10Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: "longhorn",
      claimRef: { kind: "PersistentVolumeClaim", namespace: "nats", name: "js-nats-0", uid: "uid-js-nats-0" },
      csi: { driver: "driver.longhorn.io", volumeHandle: "pvc-uid-js-nats-0" },
    });
    expect(action.volume.spec.nodeAffinity).toBeUndefined();
  });

  test("nothing for another provisioner, no class, a claim already bound or already given a volume", () => {
    const given: Volume = { metadata: { name: "pvc-uid-b" }, spec: { claimRef: { uid: "uid-b" } } };
    const actions = planVolumes(
      [longhorn, local],
      [
        claim("other", "local"),
        claim("none", undefined),
        claim("a", "longhorn", { volumeName: "pv-a" }),
        claim("b", "longhorn"),
        claim("gone-class", "missing"),
      ],
      [given],
    );
    expect(actions).toEqual([]);
  });

  test("WaitForFirstConsumer waits for the scheduler's node, then the volume is pinned to it", () => {
    const late: StorageClass = { ...longhorn, volumeBindingMode: "WaitForFirstConsumer" };
    expect(planVolumes([late], [claim("c", "longhorn")], [])).toEqual([
      { action: "skip", claim: "nats/c", why: "WaitForFirstConsumer: no pod using it is scheduled yet" },
    ]);
    const chosen = claim("c", "longhorn");
    chosen.metadata.annotations = { "volume.kubernetes.io/selected-node": "worker-2" };
    const [action] = planVolumes([late], [chosen], []);
    expect(action?.action === "provision" && action.volume.spec.nodeAffinity).toEqual({
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["worker-2"] }] },
        ],
      },
    });
  });

  test("a stand-in volume whose claim is gone is deleted; a Retain one, or one not the stand-in's, is kept", () => {
    const standIn = (name: string, policy = "Delete"): Volume => ({
      metadata: { name, annotations: { "sim.ktsw.dev/stand-in": "yes" } },
      spec: { claimRef: { namespace: "nats", name: "x", uid: `uid-${name}` }, persistentVolumeReclaimPolicy: policy },
      status: { phase: "Released" },
    });
    const foreign: Volume = {
      metadata: { name: "theirs" },
      spec: { claimRef: { uid: "nope" } },
      status: { phase: "Released" },
    };
    expect(planVolumes([longhorn], [], [standIn("old"), standIn("kept", "Retain"), foreign])).toEqual([
      { action: "delete", volume: "old", claim: "nats/x" },
    ]);
  });
});
