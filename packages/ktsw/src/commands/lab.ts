// `ktsw lab net up|test|down`: the network lab (src/lab/net) from the command line. `up` leaves the
// namespaces running for poking around (`ip netns exec ktsw-router vtysh --vty_socket …`), `test`
// runs the lab's assertions (its vitest suite), `down` removes everything the lab made.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { Command } from "commander";
import { bfdPeerStates, waitForNextHops, waitForSessions } from "../lab/net/checks.ts";
import { labConfigs } from "../lab/net/configs.ts";
import { loadSite, readMetallbCrs, readRenderedRouter } from "../lab/net/inputs.ts";
import { labDir, labDown, labUnavailable, labUp } from "../lab/net/lab.ts";
import { exitCodes, type GlobalOptions, repoRoot, summary } from "./shared.ts";

async function up(root: string): Promise<number> {
  const config = await loadSite(root);
  const crs = await readMetallbCrs(root, config);
  const lab = await labUp(config, labConfigs(config, crs, await readRenderedRouter(root)), (s) =>
    process.stdout.write(`  ${s}\n`),
  );
  const peers = lab.topology.nodes.map((n) => n.nodesAddress);
  await waitForSessions(lab);
  const bfd = await bfdPeerStates(lab);
  const vip = lab.topology.vips[0] ?? "";
  process.stdout.write(`  BGP: ${peers.length} sessions Established; BFD: ${JSON.stringify(bfd)}\n`);
  const hops = await waitForNextHops(lab, vip, "ECMP", (h) => h.length === peers.length);
  process.stdout.write(`  ${vip} via ${hops.join(", ")}\n`);
  process.stdout.write(`  FRR sockets, logs, pid files: ${labDir}/<namespace>/ (vtysh --vty_socket <that folder>)\n`);
  summary(true, `lab net up: ${lab.mode} mode, namespaces ktsw-*; \`ktsw lab net down\` removes them`);
  return exitCodes.ok;
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
  net
    .command("up")
    .description("build the lab and leave it running")
    .action(async () => {
      if (!(await guard())) return;
      const root = repoRoot(program.opts<GlobalOptions>().config);
      try {
        process.exitCode = await up(root);
      } catch (err) {
        await labDown();
        summary(false, `lab net up: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = exitCodes.findings;
      }
    });
  net
    .command("test")
    .description("build the lab, run every assertion, tear it down (the same suite `npm test` runs)")
    .action(async () => {
      if (!(await guard())) return;
      const root = repoRoot(program.opts<GlobalOptions>().config);
      const result = spawnSync("npx", ["vitest", "run", join(root, "packages", "ktsw", "test", "lab")], {
        cwd: root,
        stdio: "inherit",
      });
      process.exitCode = result.status === 0 ? exitCodes.ok : exitCodes.findings;
    });
  net
    .command("down")
    .description("remove the lab's namespaces, daemons and files (only ktsw-* ones)")
    .action(async () => {
      await labDown();
      summary(true, "lab net down: nothing of the lab is left");
    });
}
