// The sim's volume stand-in, the I/O around volumes-plan.ts: reads the StorageClasses, claims and volumes, creates
// the volume a CSI driver's provisioner would for each claim of a class no process of the sim serves (printing each,
// never silently), and deletes those whose claim is gone. Called before every reading while the tree converges.
import type { Kubectl } from "./kubectl.ts";
import { type Claim, planVolumes, type StorageClass, type Volume } from "./volumes-plan.ts";

const items = async <T>(kubectl: Kubectl, resource: string): Promise<T[]> =>
  (JSON.parse(await kubectl(["get", resource, "-A", "-o", "json"])).items ?? []) as T[];

/** One round: the volumes provisioned and deleted, each said. */
export async function provideVolumes(kubectl: Kubectl, say: (line: string) => void): Promise<number> {
  const actions = planVolumes(
    await items<StorageClass>(kubectl, "storageclasses"),
    await items<Claim>(kubectl, "persistentvolumeclaims"),
    await items<Volume>(kubectl, "persistentvolumes"),
  );
  let done = 0;
  for (const a of actions) {
    if (a.action === "provision") {
      try {
        await kubectl(["create", "-f", "-"], JSON.stringify(a.volume));
      } catch (err) {
        // Made by the previous round, not yet in the list this one read.
        if (/AlreadyExists|already exists/.test((err as Error).message)) continue;
        throw err;
      }
      say(
        `stand-in volume ${a.volume.metadata.name} for PersistentVolumeClaim ${a.claim} (StorageClass ${a.storageClass}: no ${a.provisioner} CSI driver runs on the sim)`,
      );
      done += 1;
    } else if (a.action === "delete") {
      await kubectl(["delete", "persistentvolume", a.volume, "--wait=false", "--ignore-not-found"]);
      say(`stand-in volume ${a.volume} deleted: its claim ${a.claim} is gone`);
      done += 1;
    }
  }
  return done;
}
