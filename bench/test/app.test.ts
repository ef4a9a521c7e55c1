import { describe, expect, it } from "vitest";
import { parseProcStat, quantile, treeCpuMs } from "../app/measure.ts";
import { formatReport, goalLine, type PeerRow } from "../app/report.ts";
import { addRounds, noLoad, peerRow } from "../app/rounds.ts";

// The arithmetic of `npm run bench:app` (no times asserted: the bench itself is not a test).

describe("bench:app measurements", () => {
  it("reads utime, stime, cutime and cstime of /proc/<pid>/stat even when the command name has spaces and parentheses", () => {
    const line = "4242 (postgres: app (x) idle) S 17 4242 4242 0 -1 4194560 100 0 0 0 12 3 40 5 20 0 1 0 99 0 0";
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 17, ticks: 12 + 3 + 40 + 5 });
  });

  it("counts this process's own CPU time from /proc", () => {
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    expect(treeCpuMs({ self: process.pid, gone: undefined })).toEqual({ self: expect.any(Number), gone: 0 });
    expect(treeCpuMs({ self: process.pid }).self).toBeGreaterThan(0);
  });

  it("takes quantiles by nearest rank", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(sorted, 0.5)).toBe(50);
    expect(quantile(sorted, 0.99)).toBe(99);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe("bench:app report", () => {
  it("says whether each goal is met", () => {
    expect(goalLine("ratio", 1.2, { op: "≥", target: 1 })).toContain("| met |");
    expect(goalLine("ratio", 0.9, { op: "≥", target: 1 })).toContain("NOT met");
    expect(goalLine("p99", 50, { op: "<", target: 50 }, " ms")).toContain("NOT met");
    expect(goalLine("cpu", 2, { op: "≤", target: 2 })).toContain("| met |");
  });

  it("prints the machine, the settings, one row per peer and the goals as ratios", () => {
    const row = (name: string, jobsPerSecond: number, cpuMsPerJob: number, p99Ms: number): PeerRow => ({
      name,
      jobsPerSecond,
      failed: 0,
      halfRate: jobsPerSecond / 2,
      p50Ms: 1,
      p99Ms,
      cpuMsPerJob,
      halfLoadCpuMsPerJob: cpuMsPerJob * 2,
      serviceCpu: { gateway: cpuMsPerJob / 2, worker: cpuMsPerJob / 4 },
      serverCpu: { nats: cpuMsPerJob / 4 },
      pgWriteTransactionsPerJob: 1,
      pgWalBytesPerJob: 500,
    });
    const text = formatReport({
      machine: { cpu: "Test CPU", cores: 2, node: "v20", date: "2026-01-01 00:00", loadBefore: 0.5 },
      settings: { jobs: 10 },
      rows: [row("KTSW", 500, 3, 40), row("front", 1000, 2, 10), row("direct", 2000, 1, 5)],
      raw: { jetstream: 9000, postgres: 8000 },
    });
    expect(text).toContain("Test CPU, 2 cores, Node v20");
    expect(text).toContain("settings: jobs=10");
    expect(text).toContain("| KTSW | 500 | 1.0 / 40.0 ms at 250/s | 3.00 | 6.00 |");
    expect(text).toContain("| KTSW | gateway 1.500 + worker 0.750 | 0.750 | 1.00 | 500 | 0 |");
    expect(text).toContain("| KTSW completed/s ÷ HTTP + JWT + BullMQ | 0.50× | ≥ 1× | NOT met |");
    expect(text).toContain("| KTSW completed/s ÷ BullMQ direct | 0.25× | ≥ 0.5× | NOT met |");
    expect(text).toContain("| KTSW p99 submit→done at half load | 40.00 ms | < 50 ms | met |");
    expect(text).toContain("| KTSW CPU per job ÷ BullMQ direct's | 3.00× | ≤ 2× | NOT met |");
  });
});

describe("bench:app rounds", () => {
  it("adds a peer's full-load rounds up (jobs/s over all of them, CPU, transactions and WAL per job) and prices its half-load run's jobs", () => {
    const round = (completed: number, seconds: number, gatewayMs: number) => ({
      completed,
      failed: 1,
      seconds,
      serviceCpu: { gateway: gatewayMs, worker: 100 },
      serverCpu: { postgres: 50 },
      xids: completed / 10,
      walBytes: completed * 2000,
    });
    const full = [round(100, 1, 100), round(300, 1, 300)].reduce(addRounds, noLoad);
    const half = { completed: 10, failed: 0, seconds: 1, jobsPerSecond: 10, p50Ms: 3, p99Ms: 9 };
    expect(peerRow("KTSW", full, half, { gateway: 12, worker: 6 }, { postgres: 2 })).toEqual({
      name: "KTSW",
      jobsPerSecond: 200,
      failed: 2,
      halfRate: 100,
      p50Ms: 3,
      p99Ms: 9,
      cpuMsPerJob: (400 + 200 + 100) / 400,
      halfLoadCpuMsPerJob: (12 + 6 + 2) / 10,
      serviceCpu: { gateway: 1, worker: 0.5 },
      serverCpu: { postgres: 0.25 },
      pgWriteTransactionsPerJob: 0.1,
      pgWalBytesPerJob: 2000,
    });
  });
});
