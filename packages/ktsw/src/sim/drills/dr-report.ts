// The DR drill's analysis: what was Ready before the control plane was wiped, what is Ready again, when each came
// back, and what is still missing. Pure: Flux's rows in, report out.
import { rowId } from "../../bootstrap/run.ts";
import type { FluxRow } from "../status.ts";

export interface DrPhase {
  what: string;
  /** Seconds since the wipe began, when the phase ended. */
  at: number;
}

export interface DrReport {
  /** `Kind namespace/name` of every Kustomization and HelmRelease Ready before the wipe. */
  readyBefore: string[];
  phases: DrPhase[];
  /** When each object Ready before was first seen Ready again (seconds since the wipe began). */
  readyAgain: { id: string; at: number }[];
  /** Ready before, not Ready again: with its last condition (or absent). */
  missing: { id: string; reason: string; message: string }[];
  /** Seconds from the wipe until everything Ready before was Ready again (the recovery time); undefined: never. */
  rto?: number;
  /** Ctrl-C ended the wait early: the fresh control plane is left running with the tree partly restored. */
  interrupted?: boolean;
}

export const readyIds = (rows: readonly FluxRow[]) => rows.filter((r) => r.ready).map(rowId);

/** Ready before, not Ready now; an object the restored tree has not created yet is `Absent`. */
export function missingNow(readyBefore: readonly string[], now: readonly FluxRow[]): DrReport["missing"] {
  const byId = new Map(now.map((r) => [rowId(r), r]));
  return readyBefore
    .filter((id) => !byId.get(id)?.ready)
    .map((id) => {
      const r = byId.get(id);
      return r ? { id, reason: r.reason, message: r.message } : { id, reason: "Absent", message: "not created again" };
    });
}

/** The drill passes when everything Ready before the wipe is Ready again. */
export const drPassed = (r: DrReport) => !r.interrupted && r.missing.length === 0 && r.rto !== undefined;

export function formatDr(r: DrReport): string[] {
  const s = (at: number) => `${at.toFixed(1).padStart(6)} s`;
  return [
    `timeline (seconds since the wipe began; ${r.readyBefore.length} Kustomizations and HelmReleases were Ready before):`,
    ...[
      ...r.readyAgain.map((x) => ({ at: x.at, line: `✓ ${x.id} Ready again` })),
      ...r.phases.map((p) => ({ at: p.at, line: p.what })),
    ]
      // Stable: at the same second, the object's line comes before the phase it ends.
      .sort((a, b) => a.at - b.at)
      .map((x) => `  ${s(x.at)}  ${x.line}`),
    ...r.missing.map((m) => `  ✗ ${m.id} NOT Ready again: ${m.reason}${m.message ? `: ${m.message}` : ""}`),
    r.interrupted
      ? `interrupted with ${r.missing.length} of ${r.readyBefore.length} not back yet: the fresh sim is left running; \`ktsw sim bootstrap\` finishes the restore, \`ktsw sim down\` stops it`
      : r.rto === undefined
        ? `${r.missing.length} of ${r.readyBefore.length} did not come back`
        : `RTO: everything Ready before is Ready again ${r.rto.toFixed(1)} s after the wipe`,
  ];
}
