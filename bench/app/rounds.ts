import type { DriverResult } from "./driver.ts";
import type { PeerRow } from "./report.ts";

// The bench's full-load figures come in rounds (every peer takes its turn in each, so other work
// on a shared machine weighs on all of them alike): pure sums of rounds, and a peer's row from them.

/** What one peer's full-load rounds added up to. */
export interface FullLoad {
  completed: number;
  failed: number;
  seconds: number;
  /** CPU ms of each of the peer's processes, and of each server's process tree */
  serviceCpu: Record<string, number>;
  serverCpu: Record<string, number>;
  xids: number;
  walBytes: number;
}

export const noLoad: FullLoad = {
  completed: 0,
  failed: 0,
  seconds: 0,
  serviceCpu: {},
  serverCpu: {},
  xids: 0,
  walBytes: 0,
};

const addCpu = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.keys(b).map((k) => [k, (a[k] ?? 0) + (b[k] ?? 0)]));

export const addRounds = (a: FullLoad, b: FullLoad): FullLoad => ({
  completed: a.completed + b.completed,
  failed: a.failed + b.failed,
  seconds: a.seconds + b.seconds,
  serviceCpu: addCpu(a.serviceCpu, b.serviceCpu),
  serverCpu: addCpu(a.serverCpu, b.serverCpu),
  xids: a.xids + b.xids,
  walBytes: a.walBytes + b.walBytes,
});

const sum = (cpu: Record<string, number>) => Object.values(cpu).reduce((a, b) => a + b, 0);

/**
 * A peer's row: its full-load rounds together, and its half-load run with the CPU it cost (each
 * of the peer's processes and each server's tree, as in a round).
 */
export function peerRow(
  name: string,
  full: FullLoad,
  half: DriverResult,
  halfServiceCpu: Record<string, number>,
  halfServerCpu: Record<string, number>,
): PeerRow {
  const perJob = (v: number) => v / Math.max(1, full.completed);
  const perJobEach = (cpu: Record<string, number>) =>
    Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, perJob(v)]));
  const jobsPerSecond = full.completed / full.seconds;
  return {
    name,
    jobsPerSecond,
    failed: full.failed + half.failed,
    halfRate: jobsPerSecond / 2,
    p50Ms: half.p50Ms,
    p99Ms: half.p99Ms,
    cpuMsPerJob: perJob(sum(full.serviceCpu) + sum(full.serverCpu)),
    halfLoadCpuMsPerJob: (sum(halfServiceCpu) + sum(halfServerCpu)) / Math.max(1, half.completed),
    serviceCpu: perJobEach(full.serviceCpu),
    serverCpu: perJobEach(full.serverCpu),
    pgWriteTransactionsPerJob: perJob(full.xids),
    pgWalBytesPerJob: perJob(full.walBytes),
  };
}
