// What the network lab proves, as code: each check reads the running lab, returns one line saying
// what it saw, and throws when the lab disagrees. `ktsw lab net test` prints the results; the lab's
// vitest file asserts them. Every check starts from a settled lab and puts back what it breaks (in
// `finally`), so any check can run alone or after any other.
import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";
import { kubeVipLease } from "../../render/nodes/kube-vip.ts";
import { renderRouter, routerDir } from "../../render/router/index.ts";
import {
  apiAnswer,
  bfdPeerStates,
  bgpPeerStates,
  neighbourMac,
  nodeMac,
  runFlowMatrix,
  setNodeLink,
  vipAnswers,
  vipNextHops,
  waitForNextHops,
  waitForSessions,
} from "./checks.ts";
import { daemonPid, killDaemon } from "./frr.ts";
import { readRenderedRouter } from "./inputs.ts";
import { releaseApiVip, restartBgpd, takeApiVip } from "./lab.ts";
import { poll } from "./poll.ts";
import type { SiteLab } from "./site-lab.ts";
import type { LabNode } from "./topology.ts";

export interface LabCheck {
  name: string;
  /** The longest a run may take, settling included (every wait inside has its own deadline). */
  timeoutMs: number;
  /** Resolves with what it saw; throws when the lab disagrees. */
  run(site: SiteLab): Promise<string>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What the check saw, or why it failed. */
  detail: string;
  ms: number;
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected))
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const nodeAddresses = ({ lab }: SiteLab) => lab.topology.nodes.map((n) => n.nodesAddress).sort();
const firstVip = ({ lab }: SiteLab) => lab.topology.vips[0] ?? "";
const reAddTimeoutMs = 60_000;

/** Every BGP and BFD peer up and the VIP spread over every node: the state each check starts from. */
export async function settle(site: SiteLab): Promise<void> {
  const all = nodeAddresses(site).length;
  // Held for 3 s: longer than FRR takes to reset a session after an interface flap that a check caused.
  await waitForSessions(site.lab, { bfd: true, stableMs: 3_000 });
  await waitForNextHops(site.lab, firstVip(site), "one per node", (h) => h.length === all, {
    timeoutMs: reAddTimeoutMs,
  });
}

const renderedFiles: LabCheck = {
  name: "the router runs the committed rendered files, and they match a fresh render",
  timeoutMs: 60_000,
  async run({ root, config, lab }) {
    const fresh = renderRouter(config);
    const committed = await readRenderedRouter(root);
    expectEqual(lab.configs.routerFrr, committed.frr, "the router's FRR config vs the committed frr.conf");
    expectEqual(lab.configs.nftables, committed.nftables, "the router's ruleset vs the committed nftables.conf");
    expectEqual(committed.frr, fresh[`${routerDir}/frr.conf`], "the committed frr.conf vs a fresh render");
    expectEqual(
      committed.nftables,
      fresh[`${routerDir}/nftables.conf`],
      "the committed nftables.conf vs a fresh render",
    );
    return `${routerDir}/frr.conf and nftables.conf run unchanged and equal a fresh render`;
  },
};

const sessionsUp: LabCheck = {
  name: "every node's BGP session is Established through the firewall, with BFD up",
  timeoutMs: 60_000,
  async run(site) {
    const nodes = nodeAddresses(site);
    const bgp = await bgpPeerStates(site.lab);
    expectEqual(Object.keys(bgp).sort(), nodes, "the router's BGP peers");
    for (const a of nodes) expectEqual(bgp[a], "Established", `BGP session with ${a}`);
    const bfd = await poll(
      "every BFD session up",
      () => bfdPeerStates(site.lab),
      (s) => nodes.every((a) => s[a] === "up"),
      { timeoutMs: 10_000 },
    );
    expectEqual(Object.keys(bfd).sort(), nodes, "the router's BFD peers");
    return `${nodes.length} BGP sessions Established, ${nodes.length} BFD sessions up`;
  },
};

const ecmp: LabCheck = {
  name: "the VIP route has one next hop per node (ECMP)",
  timeoutMs: 60_000,
  async run(site) {
    const nodes = nodeAddresses(site);
    const hops = await waitForNextHops(site.lab, firstVip(site), "one per node", (h) => h.length === nodes.length);
    expectEqual(hops, nodes, `${firstVip(site)}'s next hops`);
    return `${firstVip(site)} via ${hops.join(", ")}`;
  },
};

const spread: LabCheck = {
  name: "requests to the VIP from the client are spread over every node",
  timeoutMs: 60_000,
  async run(site) {
    const { lab } = site;
    const nodes = lab.topology.nodes.map((n) => n.name).sort();
    // ECMP hashes each connection's addresses and ports: 30 connections reach every node of a small
    // site almost always, but not always (one run in a few hundred missed one). Rounds of 30 go on
    // until every node has answered, up to 10 rounds; a node that never answers is still a failure.
    const answers: string[] = [];
    for (let round = 0; round < 10; round++) {
      answers.push(...(await vipAnswers(lab, firstVip(site), 30)));
      if (nodes.every((n) => answers.includes(n))) break;
    }
    const counts = Object.fromEntries(nodes.map((n) => [n, answers.filter((a) => a === n).length]));
    expectEqual(
      answers.filter((a) => a.startsWith("<")),
      [],
      "requests that got no answer",
    );
    expectEqual([...new Set(answers)].sort(), nodes, `the nodes that answered (${JSON.stringify(counts)})`);
    return `${answers.length} requests, answers per node: ${JSON.stringify(counts)}`;
  },
};

const flowMatrix: LabCheck = {
  name: "every allowed flow connects and every denied one is refused (policy model vs real nftables)",
  timeoutMs: 60_000,
  async run({ config, lab }) {
    const outcomes = await runFlowMatrix(config, lab);
    const wrong = outcomes
      .filter((o) => !o.ok)
      .map((o) => `${o.label}: expected ${o.expected}, got ${o.result.status} (${o.why})`);
    expectEqual(wrong, [], "flows where nftables and the policy model disagree");
    const allowed = outcomes.filter((o) => o.expected === "allowed").length;
    const denied = outcomes.filter((o) => o.expected === "denied").length;
    if (allowed === 0 || denied === 0)
      throw new Error(`the matrix must hold both verdicts (${allowed} allowed, ${denied} denied)`);
    return `${outcomes.length} probes, ${allowed} allowed, ${denied} denied`;
  },
};

/** Waits until the node's next hop has left the VIP route. */
const withdrawn = (site: SiteLab, node: LabNode, timeoutMs: number) =>
  waitForNextHops(site.lab, firstVip(site), `${node.name} withdrawn`, (h) => !h.includes(node.nodesAddress), {
    timeoutMs,
  });

/** Waits until the node's next hop is back, and checks the route is over every node again. */
async function expectReAdded(site: SiteLab, node: LabNode, when: string): Promise<string[]> {
  const back = await waitForNextHops(
    site.lab,
    firstVip(site),
    `${node.name} re-added`,
    (h) => h.includes(node.nodesAddress),
    { timeoutMs: reAddTimeoutMs },
  );
  expectEqual(back, nodeAddresses(site), `${firstVip(site)}'s next hops ${when}`);
  return back;
}

const linkDown: LabCheck = {
  name: "a node's link down withdraws its path (BFD, long before the BGP hold time); link up re-adds it",
  timeoutMs: 120_000,
  async run(site) {
    const { lab } = site;
    const node = lab.topology.nodes.at(-1);
    if (!node) throw new Error("no nodes");
    const others = nodeAddresses(site).filter((a) => a !== node.nodesAddress);
    // A third of the hold time: only BFD can withdraw the path within it.
    const boundMs = Math.floor((site.holdSeconds * 1000) / 3);
    let withdrawnAfterMs: number;
    try {
      const started = performance.now();
      await setNodeLink(lab, node.name, "down");
      const without = await withdrawn(site, node, boundMs);
      withdrawnAfterMs = performance.now() - started;
      expectEqual(without, others, `${firstVip(site)}'s next hops with ${node.name} down`);
      const answers = await vipAnswers(lab, firstVip(site), 10);
      expectEqual(
        answers.filter((a) => a === node.name || a.startsWith("<")),
        [],
        `answers from ${node.name} or none at all while its link is down`,
      );
    } finally {
      await setNodeLink(lab, node.name, "up");
    }
    await expectReAdded(site, node, "after link up");
    return `${node.name} withdrawn after ${Math.round(withdrawnAfterMs)} ms (bound ${boundMs} ms), re-added on link up`;
  },
};

const bgpdKilled: LabCheck = {
  name: "a killed bgpd withdraws at once; restarting it re-adds the path",
  timeoutMs: 120_000,
  async run(site) {
    const { lab } = site;
    const node = lab.topology.nodes[0];
    const frr = node ? lab.nodes[node.name] : undefined;
    if (!node || !frr) throw new Error("no nodes");
    try {
      await killDaemon(frr, "bgpd");
      // The kernel closes the dead process's TCP session, so no timer is involved: two seconds is plenty.
      await withdrawn(site, node, 2_000);
    } finally {
      if ((await daemonPid(frr, "bgpd")) === undefined) await restartBgpd(lab, node.name);
    }
    const back = await expectReAdded(site, node, "after the restart");
    expectEqual((await vipNextHops(lab, firstVip(site))).length, back.length, "next hops a moment later");
    return `${node.name}'s path withdrawn when bgpd died and re-added after its restart`;
  },
};

/** Waits until the API VIP's traffic goes to `node`, seen from both sides that must agree: first
 *  the router's neighbour table (the MAC it sends the VIP to), then who answers :6443 from the mgmt
 *  VLAN (routed through the router and its firewall) and from a plain nodes-VLAN host (on-link, as
 *  a joining node is). Returns when each became true, in ms from the call. */
async function expectApiVipAt(
  site: SiteLab,
  node: string,
  timeoutMs: number,
): Promise<{ routerMs: number; answersMs: number }> {
  const { lab } = site;
  const started = performance.now();
  const deadline = started + timeoutMs;
  const left = () => Math.max(1, deadline - performance.now());
  const host = (zone: string) => {
    const h = lab.topology.hosts.find((x) => x.zone === zone);
    if (!h) throw new Error(`no ${zone} host in the lab`);
    return h.ns;
  };
  const mac = await nodeMac(lab, node);
  const vip = lab.topology.apiVip;
  await poll(
    `the router's neighbour entry for ${vip} to be ${node}'s MAC ${mac}`,
    async () => {
      const m = await neighbourMac(lab.topology.routerNs, vip);
      // No entry: the router has not needed one yet (a gratuitous ARP only updates entries that exist).
      // A connection from mgmt makes it resolve the VIP, like the first kubectl of the day would.
      if (m === undefined) await apiAnswer(lab, host("mgmt"), 200);
      return m;
    },
    (m) => m === mac,
    { timeoutMs: left(), everyMs: 10 },
  );
  const routerMs = performance.now() - started;
  await poll(
    `${vip}:6443 answered by ${node} from the mgmt VLAN and from the nodes VLAN`,
    async () => Promise.all([apiAnswer(lab, host("mgmt"), 500), apiAnswer(lab, host("nodes"), 500)]),
    (answers) => answers.every((a) => a === node),
    { timeoutMs: left(), everyMs: 10 },
  );
  return { routerMs, answersMs: performance.now() - started };
}

const apiVipMoves: LabCheck = {
  name: "the API VIP moves when its holder is lost: another control plane's gratuitous ARP moves the router's path, :6443 answers from it",
  timeoutMs: 90_000,
  async run(site) {
    const { lab } = site;
    const [holder, next] = lab.topology.nodes.filter((n) => n.role === "control-plane");
    if (!holder) throw new Error("no control plane in the lab");
    await expectApiVipAt(site, holder.name, 10_000);
    if (!next) return `one control plane: the VIP answers on ${holder.name} and has nowhere to move`;
    // The lease: on real nodes kube-vip on `next` takes over at most leaseDuration + retryPeriod after
    // the holder stops renewing; the router side must then follow well inside one lease.
    const boundMs = kubeVipLease.durationSeconds * 1000;
    let moved: { routerMs: number; answersMs: number };
    try {
      // The holder's node is lost: its link goes, and with it kube-vip; the VIP stays configured on a
      // dead box, which can neither answer nor give the address back.
      await setNodeLink(lab, holder.name, "down");
      const dark = await apiAnswer(lab, lab.topology.hosts.find((h) => h.zone === "mgmt")?.ns ?? "");
      expectEqual(dark.startsWith("<"), true, `an answer (${dark}) while the holder is lost and nobody took over`);
      // The gratuitous ARPs go out while we watch: the clock runs from the first one.
      const takeover = takeApiVip(lab.topology, next.name);
      try {
        moved = await expectApiVipAt(site, next.name, boundMs);
      } finally {
        await takeover;
      }
    } finally {
      // Back as it was: the old holder returns as a follower (kube-vip holds nothing until it wins
      // the lease), then takes the VIP back so every check starts from the same holder.
      await releaseApiVip(lab.topology, holder.name);
      await setNodeLink(lab, holder.name, "up");
      await releaseApiVip(lab.topology, next.name);
      await takeApiVip(lab.topology, holder.name);
    }
    await expectApiVipAt(site, holder.name, 10_000);
    const ms = (n: number) => `${Math.round(n)} ms`;
    return `${holder.name} lost, ${next.name} took over: the router's path moved after ${ms(moved.routerMs)}, :6443 answered from mgmt and the nodes VLAN after ${ms(moved.answersMs)} (bound ${ms(boundMs)}, one lease); moved back after`;
  },
};

/** In the order the README lists them; each stands alone. */
export const netLabChecks: readonly LabCheck[] = [
  renderedFiles,
  sessionsUp,
  ecmp,
  spread,
  flowMatrix,
  linkDown,
  bgpdKilled,
  apiVipMoves,
];

/** Settles the lab, runs one check, and reports instead of throwing. */
export async function runCheck(site: SiteLab, check: LabCheck): Promise<CheckResult> {
  const started = performance.now();
  const result = (ok: boolean, detail: string) => ({ name: check.name, ok, detail, ms: performance.now() - started });
  try {
    await settle(site).catch((err: unknown) => {
      throw new Error(`the lab did not settle before this check: ${err instanceof Error ? err.message : String(err)}`);
    });
    return result(true, await check.run(site));
  } catch (err) {
    return result(false, err instanceof Error ? err.message : String(err));
  }
}

export async function runChecks(
  site: SiteLab,
  checks: readonly LabCheck[] = netLabChecks,
  onResult: (r: CheckResult) => void = () => {},
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    const r = await runCheck(site, check);
    onResult(r);
    results.push(r);
  }
  return results;
}
