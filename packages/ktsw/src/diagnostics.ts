// One shape for every problem KTSW reports — config errors, manifest findings, policy violations —
// so every command prints `file:line:col  path: message` the same way and `--format json` is uniform.

export type Severity = "error" | "warning";

export interface Finding {
  /** Path relative to the repository (or as the user typed it). */
  file: string;
  /** 1-based; 0 when the problem has no single place in the file (e.g. "file missing"). */
  line: number;
  /** 1-based; 0 when unknown. */
  col: number;
  /** Dotted/indexed path inside the document, e.g. `nodes[1].addresses.nodes`; empty when not applicable. */
  path: string;
  message: string;
  severity: Severity;
  /** Short stable id of the check that produced it, e.g. `config.address-in-vlan`, `flux.depends-on`. */
  rule: string;
}

/** Where a finding points: line and col 0 when it has no single place, path "" when not applicable. */
export interface Location {
  file: string;
  line?: number;
  col?: number;
  path?: string;
}

/** The one way findings are made, so every check fills the shape alike. */
export function finding(at: Location, message: string, rule: string, severity: Severity = "error"): Finding {
  return { file: at.file, line: at.line ?? 0, col: at.col ?? 0, path: at.path ?? "", message, severity, rule };
}

export function formatFinding(f: Finding): string {
  const where = f.line > 0 ? `${f.file}:${f.line}:${f.col}` : f.file;
  const path = f.path ? `${f.path}: ` : "";
  return `${where} ${path}${f.message}`;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === "error");
}

/** Stable order: by file, then position, so output (and snapshots of it) never depends on check order. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.message.localeCompare(b.message),
  );
}
