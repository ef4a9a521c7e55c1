// The network layer, proven: the rendered router FRR config and nftables ruleset (unchanged) and
// MetalLB-style speakers generated from our MetalLB CRs, in network namespaces with real FRR. The
// checks are the ones `ktsw lab net test` runs; each one settles the lab first and restores what it
// breaks, so every test here passes alone and in any order.
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { netLabChecks, runCheck, settle } from "../../src/lab/net/assertions.ts";
import { bgpPeers } from "../../src/lab/net/checks.ts";
import { labDown, labUnavailable } from "../../src/lab/net/lab.ts";
import { ip } from "../../src/lab/net/shell.ts";
import { type SiteLab, startSiteLab } from "../../src/lab/net/site-lab.ts";

const root = new URL("../../../../", import.meta.url).pathname;
const unavailable = await labUnavailable();
if (unavailable) console.warn(`\n!!! SKIPPING the network lab: ${unavailable} !!!\n`);

describe.skipIf(unavailable !== undefined)("network lab: router + MetalLB speakers in namespaces", () => {
  let site: SiteLab;

  beforeAll(async () => {
    site = await startSiteLab(root, (line) => console.info(line));
  }, 120_000);

  afterAll(async () => {
    await labDown();
  });

  for (const check of netLabChecks) {
    test(
      check.name,
      async () => {
        const result = await runCheck(site, check);
        console.info(`${check.name}: ${result.detail}`);
        expect(result, result.detail).toMatchObject({ ok: true });
      },
      check.timeoutMs,
    );
  }

  test("a link-down check that fails still brings the link back up", async () => {
    const linkDown = netLabChecks.find((c) => c.name.startsWith("a node's link down"));
    if (!linkDown) throw new Error("no link-down check");
    // A 3 ms hold time leaves a 1 ms bound: no failure detection is that fast, so the check fails mid-way.
    const flapped = performance.now();
    const result = await runCheck({ ...site, holdSeconds: 0.003 }, linkDown);
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("withdrawn");
    const node = site.lab.topology.nodes.at(-1);
    if (!node) throw new Error("no nodes");
    const link = JSON.parse(await ip("-n", node.ns, "-j", "link", "show", "nodes")) as { flags: string[] }[];
    expect(link[0]?.flags).toContain("UP");
    // The flap was too short for BFD, so the router still counted the old session as up; the node's bgpd
    // had reset it at once. Settling must wait for that reset to reach the router: the session the lab
    // settles on began after the flap (else the next check starts while the node's path is withdrawn).
    await settle(site);
    const session = (await bgpPeers(site.lab))[node.nodesAddress];
    expect(session?.state).toBe("Established");
    expect(session?.upMs ?? Number.POSITIVE_INFINITY).toBeLessThan(performance.now() - flapped);
  }, 120_000);
});
