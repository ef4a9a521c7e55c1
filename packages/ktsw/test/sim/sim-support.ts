// What the sim's tests share: whether the sim's programs are built (else the suites skip loudly, naming the build
// step), a state folder per suite, and the sim's own kubectl.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../src/lab/net/shell.ts";
import type { SimState } from "../../src/sim/cluster.ts";
import { simLayout } from "../../src/sim/layout.ts";
import { isRunning } from "../../src/sim/processes.ts";
import { type SimToolName, simClusterTools } from "../../src/tools/catalog.ts";
import { findTool, missingSimTools, requireSimTool, simBuildStep } from "../../src/tools/find.ts";
import { runKtsw } from "../support/cli.ts";

/** Why a sim test cannot run here: a program it needs not built (by default the cluster's own), or openssl. */
export function simUnavailable(needs: readonly SimToolName[] = simClusterTools): string | undefined {
  const missing = missingSimTools(needs);
  if (missing.length > 0) return `${missing.join(", ")} not built: ${simBuildStep()}`;
  if (!findTool("openssl")) return "openssl not found (apt-get install openssl)";
  return undefined;
}

export interface TestSim {
  dir: string;
  state: () => SimState;
  kubectl: (args: readonly string[], input?: string) => Promise<string>;
  /** `ktsw sim down`, then the folder is gone either way. */
  remove: () => Promise<void>;
}

export function simFolder(): string {
  return mkdtempSync(join(tmpdir(), "ktsw-sim-"));
}

/** `ktsw [--config] sim --dir DIR ARGS`: the sim as a person runs it. */
export function simCli(dir: string, args: string[], config?: string) {
  return runKtsw([...(config ? ["--config", config] : []), "sim", "--dir", dir, ...args]);
}

export function testSim(dir: string): TestSim {
  const layout = simLayout(dir);
  const state = () => JSON.parse(readFileSync(layout.state, "utf8")) as SimState;
  return {
    dir,
    state,
    kubectl: (args, input) =>
      run(
        requireSimTool("kubectl"),
        [`--kubeconfig=${layout.kubeconfig}`, ...args],
        input === undefined ? {} : { input },
      ),
    remove: async () => {
      if (existsSync(layout.state)) await simCli(dir, ["down"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The recorded processes still running. */
export const stillRunning = (state: SimState) => state.processes.filter(isRunning).map((p) => `${p.name} (${p.pid})`);
