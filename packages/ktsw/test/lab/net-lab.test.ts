// The network layer, proven: the rendered router FRR config and nftables ruleset (unchanged) and
// MetalLB-style speakers generated from our MetalLB CRs, in network namespaces with real FRR.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { KtswConfig } from "../../src/config/schema.ts";
import {
  bfdPeerStates,
  bgpPeerStates,
  runFlowMatrix,
  setNodeLink,
  vipAnswers,
  vipNextHops,
  waitForNextHops,
  waitForSessions,
} from "../../src/lab/net/checks.ts";
import { labConfigs } from "../../src/lab/net/configs.ts";
import { killDaemon } from "../../src/lab/net/frr.ts";
import { loadSite, readMetallbCrs, readRenderedRouter } from "../../src/lab/net/inputs.ts";
import { type Lab, labDown, labUnavailable, labUp, restartBgpd } from "../../src/lab/net/lab.ts";
import { until } from "../../src/lab/net/shell.ts";
import { durationSeconds } from "../../src/network/metallb-crs.ts";
import { renderRouter, routerDir } from "../../src/render/router/index.ts";

const root = new URL("../../../../", import.meta.url).pathname;
const unavailable = await labUnavailable();
if (unavailable) console.warn(`\n!!! SKIPPING the network lab: ${unavailable} !!!\n`);

describe.skipIf(unavailable !== undefined)("network lab: router + MetalLB speakers in namespaces", () => {
  let config: KtswConfig;
  let lab: Lab;
  let holdSeconds = 180;
  const nodeAddresses = () => lab.topology.nodes.map((n) => n.nodesAddress).sort();
  const vip = () => lab.topology.vips[0] ?? "";

  beforeAll(async () => {
    config = await loadSite(root);
    const crs = await readMetallbCrs(root, config);
    const hold = crs.peers[0]?.holdTime;
    if (hold) holdSeconds = durationSeconds(hold);
    lab = await labUp(config, labConfigs(config, crs, await readRenderedRouter(root)), (s) => console.info(s));
    console.info(`lab mode: ${lab.mode}`);
    await waitForSessions(lab);
  }, 120_000);

  afterAll(async () => {
    await labDown();
  });

  test("the router runs the committed rendered files, and they match a fresh render", async () => {
    const fresh = renderRouter(config);
    const committed = await readRenderedRouter(root);
    expect(lab.configs.routerFrr).toBe(committed.frr);
    expect(lab.configs.nftables).toBe(committed.nftables);
    expect(committed.frr).toBe(fresh[`${routerDir}/frr.conf`]);
    expect(committed.nftables).toBe(fresh[`${routerDir}/nftables.conf`]);
  });

  test("every node's BGP session is Established through the firewall, with BFD up", async () => {
    const bgp = await bgpPeerStates(lab);
    expect(Object.keys(bgp).sort()).toEqual(nodeAddresses());
    for (const a of nodeAddresses()) expect(bgp[a], a).toBe("Established");
    const bfd = await until("every BFD session up", async () => {
      const s = await bfdPeerStates(lab);
      return nodeAddresses().every((a) => s[a] === "up") ? s : undefined;
    });
    expect(Object.keys(bfd).sort()).toEqual(nodeAddresses());
  });

  test("the VIP route has one next hop per node (ECMP)", async () => {
    const hops = await waitForNextHops(lab, vip(), "ECMP over every node", (h) => h.length === nodeAddresses().length);
    expect(hops).toEqual(nodeAddresses());
  });

  test("30 requests to the VIP from the client are spread over every node", async () => {
    const answers = await vipAnswers(lab, vip(), 30);
    const counts = Object.fromEntries(
      lab.topology.nodes.map((n) => [n.name, answers.filter((a) => a === n.name).length]),
    );
    console.info(`VIP answers per node: ${JSON.stringify(counts)}`);
    expect(answers.filter((a) => a.startsWith("<"))).toEqual([]);
    expect(new Set(answers)).toEqual(new Set(lab.topology.nodes.map((n) => n.name)));
  });

  test("every allowed flow connects and every denied one is refused (policy model vs real nftables)", async () => {
    const outcomes = await runFlowMatrix(config, lab);
    const wrong = outcomes
      .filter((o) => !o.ok)
      .map((o) => `${o.label}: expected ${o.expected}, got ${o.result.status} (${o.why})`);
    expect(wrong).toEqual([]);
    expect(outcomes.some((o) => o.expected === "allowed")).toBe(true);
    expect(outcomes.some((o) => o.expected === "denied")).toBe(true);
    console.info(
      `flow matrix: ${outcomes.length} probes, ${outcomes.filter((o) => o.expected === "allowed").length} allowed, ${outcomes.filter((o) => o.expected === "denied").length} denied`,
    );
  });

  test("a node's link down withdraws its path (BFD, long before the BGP hold time); link up re-adds it", async () => {
    const node = lab.topology.nodes.at(-1);
    if (!node) throw new Error("no nodes");
    await setNodeLink(lab, node.name, "down");
    // Polled every 50 ms for at most a third of the hold time: only BFD can make it in that bound.
    const bound = Math.floor((holdSeconds * 1000) / 3 / 50);
    const without = await waitForNextHops(
      lab,
      vip(),
      `${node.name} withdrawn`,
      (h) => !h.includes(node.nodesAddress),
      bound,
    );
    expect(without).toEqual(nodeAddresses().filter((a) => a !== node.nodesAddress));
    const answers = await vipAnswers(lab, vip(), 10);
    expect(answers.filter((a) => a === node.name || a.startsWith("<"))).toEqual([]);
    await setNodeLink(lab, node.name, "up");
    const back = await waitForNextHops(lab, vip(), `${node.name} re-added`, (h) => h.includes(node.nodesAddress), 1200);
    expect(back).toEqual(nodeAddresses());
  }, 90_000);

  test("a killed bgpd withdraws at once; restarting it re-adds the path", async () => {
    const node = lab.topology.nodes[0];
    const frr = node ? lab.nodes[node.name] : undefined;
    if (!node || !frr) throw new Error("no nodes");
    await killDaemon(frr, "bgpd");
    // The kernel closes the dead process's TCP session, so no timer is involved: a handful of polls.
    const without = await waitForNextHops(
      lab,
      vip(),
      `${node.name} withdrawn`,
      (h) => !h.includes(node.nodesAddress),
      40,
    );
    expect(without).not.toContain(node.nodesAddress);
    await restartBgpd(lab, node.name);
    const back = await waitForNextHops(lab, vip(), `${node.name} re-added`, (h) => h.includes(node.nodesAddress), 1200);
    expect(back).toEqual(nodeAddresses());
    expect(await vipNextHops(lab, vip())).toHaveLength(nodeAddresses().length);
  }, 90_000);
});
