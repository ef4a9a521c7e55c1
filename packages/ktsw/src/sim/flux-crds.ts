// Flux's CRDs, exactly as its release ships them: scripts/build-sim-tools.sh keeps each controller's
// config/crd/bases beside its binary (<binary>-<version>-crds). `ktsw sim up` installs them before starting the
// controllers, and `ktsw bootstrap` installs them on any cluster; server-side apply, so a second run changes nothing.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { MissingTool, simBuildStep, simToolFile } from "../tools/find.ts";
import { fluxControllers } from "./flux.ts";
import type { Kubectl } from "./kubectl.ts";

/** The CRD files of the pinned Flux release, one folder per controller. */
export function fluxCrdFiles(binFolder: string): string[] {
  return fluxControllers.flatMap((name) => {
    const folder = `${simToolFile(name, binFolder)}-crds`;
    if (!existsSync(folder)) {
      throw new MissingTool(
        name,
        undefined,
        `${name}'s CRDs not built (looked for ${folder}); build them with ${simBuildStep(binFolder)}`,
      );
    }
    return readdirSync(folder)
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((f) => join(folder, f));
  });
}

/** Applies Flux's CRDs and waits until the API server serves them; the names of the CRDs. */
export async function installFluxCrds(kubectl: Kubectl, binFolder: string, timeoutSeconds = 60): Promise<string[]> {
  const files = fluxCrdFiles(binFolder);
  const applied = await kubectl([
    "apply",
    "--server-side",
    "--field-manager=ktsw",
    "--force-conflicts",
    "-o",
    "name",
    ...files.flatMap((f) => ["-f", f]),
  ]);
  const crds = applied.split("\n").filter((l) => l.trim() !== "");
  await kubectl(["wait", "--for=condition=Established", `--timeout=${timeoutSeconds}s`, ...crds]);
  return crds;
}
