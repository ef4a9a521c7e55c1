// `ktsw bootstrap`: the cluster-side bootstrap a user runs once (src/bootstrap), against the cluster their
// kubeconfig names. `ktsw sim bootstrap` (commands/sim.ts) is the same, aimed at the sim.
import { resolve } from "node:path";
import type { Command } from "commander";
import { type BootstrapOptions, bootstrap, rowId } from "../bootstrap/run.ts";
import { loadConfig } from "../config/load.ts";
import { simKubectl } from "../sim/kubectl.ts";
import { defaultSimBin, MissingTool } from "../tools/find.ts";
import { defaultKeyFile } from "./secrets.ts";
import { exitCodes, type GlobalOptions, printFindings, repoRoot, summary } from "./shared.ts";

const say = (line: string) => process.stdout.write(`  ${line}\n`);

export interface BootstrapCliOptions {
  ageKey: string;
  timeout: string;
}

/** The options both commands take, parsed at this one boundary. */
export function withBootstrapOptions(cmd: Command): Command {
  return cmd
    .option("--age-key <file>", "the age key Flux decrypts *.sops.yaml with", defaultKeyFile())
    .option("--timeout <seconds>", "how long the tree may take to become Ready", "900");
}

/** The cluster folder's flux-system.yaml, from ktsw.yaml's gitops.path; undefined (findings printed) if invalid. */
export async function rootFileOf(configPath: string): Promise<string | undefined> {
  const loaded = await loadConfig(configPath);
  if (!loaded.config) {
    printFindings(loaded.findings);
    return undefined;
  }
  return resolve(repoRoot(configPath), loaded.config.gitops.path, "flux-system.yaml");
}

/** Runs the bootstrap and prints its outcome; the exit code is set here. */
export async function runBootstrap(
  what: string,
  opts: BootstrapCliOptions,
  target: Pick<BootstrapOptions, "kubectl" | "binFolder" | "rootFile" | "rootText" | "exceptions" | "tick">,
): Promise<void> {
  const timeout = Number(opts.timeout);
  if (!(timeout > 0)) {
    process.stderr.write(`${what}: --timeout must be a positive number of seconds\n`);
    process.exitCode = exitCodes.usage;
    return;
  }
  try {
    const r = await bootstrap({
      ...target,
      ageKeyFile: resolve(opts.ageKey),
      progress: say,
      timeoutMs: timeout * 1000,
    });
    const ready = r.rows.filter((row) => row.ready).length;
    const expected = r.rows.filter((row) => !row.ready).map(rowId);
    summary(
      true,
      `${what}: ${ready}/${r.rows.length} Kustomizations and HelmReleases Ready in ${r.seconds.toFixed(0)} s${expected.length ? ` (not Ready, as expected here: ${expected.join(", ")})` : ""}`,
    );
  } catch (err) {
    if (err instanceof MissingTool) throw err; // exit 3 with its message, via cli.ts
    summary(false, `${what}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = exitCodes.findings;
  }
}

export function registerBootstrap(program: Command): void {
  withBootstrapOptions(
    program
      .command("bootstrap")
      .description(
        "once per cluster: Flux's CRDs, the flux-system namespace, the sops-age Secret and the root GitRepository + Kustomization; then wait until the whole tree is Ready",
      )
      .option("--kubeconfig <file>", "the cluster's kubeconfig (default: kubectl's own: $KUBECONFIG or ~/.kube/config)")
      .option("--bin <folder>", "where the pinned kubectl and Flux CRDs are built", defaultSimBin),
  ).action(async (opts: BootstrapCliOptions & { kubeconfig?: string; bin: string }) => {
    const rootFile = await rootFileOf(program.opts<GlobalOptions>().config);
    if (!rootFile) {
      process.exitCode = exitCodes.findings;
      return;
    }
    const binFolder = resolve(opts.bin);
    const kubeconfig = opts.kubeconfig ?? process.env.KUBECONFIG ?? resolve(process.env.HOME ?? "", ".kube", "config");
    await runBootstrap("bootstrap", opts, { kubectl: simKubectl(binFolder, resolve(kubeconfig)), binFolder, rootFile });
  });
}
