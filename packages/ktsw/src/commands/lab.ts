// `ktsw lab net up|test|down`: the network lab (src/lab/net) from the command line. `up` leaves the
// namespaces running for poking around (`ip netns exec ktsw-router vtysh --vty_socket …`), `test`
// runs the lab's checks and prints each result, `down` removes everything the lab made.
import type { Command } from "commander";
import { type CheckResult, runChecks } from "../lab/net/assertions.ts";
import { bfdPeerStates, waitForNextHops } from "../lab/net/checks.ts";
import { labDir, labDown, labUnavailable } from "../lab/net/lab.ts";
import { startSiteLab } from "../lab/net/site-lab.ts";
import { exitCodes, type GlobalOptions, repoRoot, summary } from "./shared.ts";

const indented = (s: string) => process.stdout.write(`  ${s}\n`);

async function up(root: string): Promise<number> {
  const { lab } = await startSiteLab(root, indented);
  const peers = lab.topology.nodes.map((n) => n.nodesAddress);
  const bfd = await bfdPeerStates(lab);
  const vip = lab.topology.vips[0] ?? "";
  indented(`BGP: ${peers.length} sessions Established; BFD: ${JSON.stringify(bfd)}`);
  const hops = await waitForNextHops(lab, vip, "ECMP", (h) => h.length === peers.length);
  indented(`${vip} via ${hops.join(", ")}`);
  indented(`FRR sockets, logs, pid files: ${labDir}/<namespace>/ (vtysh --vty_socket <that folder>)`);
  summary(true, `lab net up: ${lab.mode} mode, namespaces ktsw-*; \`ktsw lab net down\` removes them`);
  return exitCodes.ok;
}

const printResult = (r: CheckResult) => summary(r.ok, `${r.name} (${(r.ms / 1000).toFixed(1)} s): ${r.detail}`);

async function test(root: string): Promise<number> {
  let results: CheckResult[];
  try {
    results = await runChecks(await startSiteLab(root, indented), undefined, printResult);
  } finally {
    await labDown();
  }
  const failed = results.filter((r) => !r.ok).length;
  summary(failed === 0, `lab net test: ${results.length} checks, ${failed} failed; the lab is removed again`);
  return failed === 0 ? exitCodes.ok : exitCodes.findings;
}

export function registerLab(program: Command): void {
  const lab = program.command("lab").description("labs that prove the rendered configuration on real software");
  const net = lab
    .command("net")
    .description("the homelab network in namespaces: rendered router FRR + nftables, MetalLB-style FRR speakers");
  const guard = async (): Promise<boolean> => {
    const why = await labUnavailable();
    if (why) {
      summary(false, `lab net: ${why}`);
      process.exitCode = exitCodes.prerequisite;
      return false;
    }
    return true;
  };
  /** Runs a verb; a lab that fails to come up is torn down and reported as a finding. */
  const action = (verb: string, run: (root: string) => Promise<number>) => async () => {
    if (!(await guard())) return;
    try {
      process.exitCode = await run(repoRoot(program.opts<GlobalOptions>().config));
    } catch (err) {
      await labDown();
      summary(false, `lab net ${verb}: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = exitCodes.findings;
    }
  };
  net.command("up").description("build the lab and leave it running").action(action("up", up));
  net
    .command("test")
    .description("build the lab, run every check, tear it down (the same checks `npm test` runs)")
    .action(action("test", test));
  net
    .command("down")
    .description("remove the lab's namespaces, daemons and files (only ktsw-* ones)")
    .action(async () => {
      await labDown();
      summary(true, "lab net down: nothing of the lab is left");
    });
}
