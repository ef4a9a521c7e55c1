// The printed table of `npm run bench:app`: pure, from measurements to markdown text.

export interface PeerRow {
  name: string;
  jobsPerSecond: number;
  failed: number;
  halfRate: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerJob: number;
  /**
   * The same at half load: a job costs more there, since fewer share each statement, write and
   * wake-up, so half the jobs/s keeps the machine more than half as busy.
   */
  halfLoadCpuMsPerJob: number;
  /** CPU ms per job of each process of the peer under test (KTSW: gateway, worker, status) */
  serviceCpu: Record<string, number>;
  /** CPU ms per job of each server's process tree (nats, postgres, redis) */
  serverCpu: Record<string, number>;
  /** PostgreSQL transactions that wrote (took an xid) */
  pgWriteTransactionsPerJob: number;
  pgWalBytesPerJob: number;
}

export interface Report {
  machine: { cpu: string; cores: number; node: string; date: string; loadBefore: number };
  settings: Record<string, number>;
  rows: PeerRow[];
  raw: { jetstream: number; postgres: number };
}

const f = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "—";

/** A goal line: the ratio, the goal and whether this run met it. */
export function goalLine(
  what: string,
  value: number,
  goal: { op: "≥" | "≤" | "<"; target: number },
  unit = "×",
): string {
  const met = goal.op === "≥" ? value >= goal.target : goal.op === "≤" ? value <= goal.target : value < goal.target;
  return `| ${what} | ${f(value, 2)}${unit} | ${goal.op} ${goal.target}${unit} | ${met ? "met" : "NOT met"} |`;
}

export function formatReport(r: Report): string {
  const [ktsw, front, direct] = r.rows;
  const serverNames = Object.keys(r.rows[0]?.serverCpu ?? {});
  const lines = [
    `bench:app — ${r.machine.date} UTC — ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}, 1-min load average ${f(r.machine.loadBefore, 2)} at start`,
    `settings: ${Object.entries(r.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
    "",
    "| peer | jobs/s completed | submit→done p50 / p99 at half load | CPU ms per job | at half load |",
    "|---|---|---|---|---|",
    ...r.rows.map(
      (p) =>
        `| ${p.name} | ${f(p.jobsPerSecond)} | ${f(p.p50Ms, 1)} / ${f(p.p99Ms, 1)} ms at ${f(p.halfRate)}/s | ${f(p.cpuMsPerJob, 2)} | ${f(p.halfLoadCpuMsPerJob, 2)} |`,
    ),
    `| raw JetStream publish + PubAck, 64 in flight | ${f(r.raw.jetstream)} | | | |`,
    `| raw PG single-row INSERT, 10 connections | ${f(r.raw.postgres)} | | | |`,
    "",
    `| where the CPU goes (ms per job) | its processes | ${serverNames.join(" | ")} | PG write transactions per job | WAL bytes per job | failed submissions |`,
    `|---|---|${serverNames.map(() => "---|").join("")}---|---|---|`,
    ...r.rows.map(
      (p) =>
        `| ${p.name.replace(/ \(.*/, "")} | ${Object.entries(p.serviceCpu)
          .map(([k, v]) => `${k} ${f(v, 3)}`)
          .join(
            " + ",
          )} | ${serverNames.map((k) => f(p.serverCpu[k] ?? 0, 3)).join(" | ")} | ${f(p.pgWriteTransactionsPerJob, 2)} | ${f(p.pgWalBytesPerJob)} | ${p.failed} |`,
    ),
    "",
  ];
  if (ktsw && front && direct)
    lines.push(
      "| goal | this run | goal | |",
      "|---|---|---|---|",
      goalLine("KTSW completed/s ÷ HTTP + JWT + BullMQ", ktsw.jobsPerSecond / front.jobsPerSecond, {
        op: "≥",
        target: 1,
      }),
      goalLine("KTSW completed/s ÷ BullMQ direct", ktsw.jobsPerSecond / direct.jobsPerSecond, { op: "≥", target: 0.5 }),
      goalLine("KTSW p99 submit→done at half load", ktsw.p99Ms, { op: "<", target: 50 }, " ms"),
      goalLine("KTSW CPU per job ÷ BullMQ direct's", ktsw.cpuMsPerJob / direct.cpuMsPerJob, { op: "≤", target: 2 }),
      "",
    );
  return `${lines.join("\n")}\n`;
}
