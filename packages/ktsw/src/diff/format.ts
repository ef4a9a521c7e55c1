// How `ktsw diff` prints: a readable terminal report, or Markdown for a pull-request comment
// (a count table per layer, then one collapsible ```diff block per object). Pure: layers in, text out.
import pc from "picocolors";
import { type Change, type Counts, countChanges, type Entry, type SiteDiff, type Withheld } from "./compare.ts";

export interface DiffHeading {
  /** The git ref the working tree is compared with, as the user typed it. */
  ref: string;
  /** Its commit, short. */
  commit: string;
  seconds: number;
}

const mark: Record<Change, string> = { added: "+", removed: "-", changed: "~" };

export const SECRET_NOTE = "Secret: changed, values not shown";

function tally(c: Counts): string {
  const parts = (["added", "removed", "changed"] as const).filter((k) => c[k] > 0).map((k) => `${c[k]} ${k}`);
  return parts.length ? parts.join(", ") : "no differences";
}

const entryNote = (e: Entry) => [e.secret ? SECRET_NOTE : "", e.note ?? ""].filter(Boolean).join("; ");

/** Why a chart's objects are not in the report, so an absence is not read as "nothing changed". */
export function withheldNote(w: Withheld, ref: string): string {
  const [missing, other] = w.missingAt === "before" ? [ref, "the working tree"] : ["the working tree", ref];
  const failed = w.producer.startsWith("HelmRelease") ? "did not render" : "did not build";
  return `not compared: ${w.producer} ${failed} at ${missing}, so its ${w.objects} object${w.objects === 1 ? "" : "s"} at ${other} ${w.objects === 1 ? "is" : "are"} left out`;
}

function colourLine(line: string): string {
  if (line.startsWith("+++") || line.startsWith("---")) return pc.bold(line);
  if (line.startsWith("+")) return pc.green(line);
  if (line.startsWith("-")) return pc.red(line);
  if (line.startsWith("@@")) return pc.cyan(line);
  return line;
}

export function formatText({ layers, withheld }: SiteDiff, heading: DiffHeading): string {
  const out: string[] = [];
  for (const layer of layers) {
    out.push(pc.bold(`${layer.name}${layer.about ? ` (${layer.about})` : ""}: ${tally(countChanges([layer]))}`));
    for (const group of layer.groups) {
      out.push(`  ${group.title}${group.path ? `  ${pc.dim(group.path)}` : ""}`);
      for (const e of group.entries) {
        const note = entryNote(e);
        out.push(`    ${mark[e.change]} ${e.label}${note ? `  ${pc.dim(`(${note})`)}` : ""}`);
        for (const line of e.diff.split("\n").slice(0, -1)) out.push(`      ${colourLine(line)}`);
      }
    }
  }
  for (const w of withheld) out.push(pc.yellow(`! ${withheldNote(w, heading.ref)}`));
  const counts = countChanges(layers);
  out.push(
    `${counts.added + counts.removed + counts.changed === 0 ? pc.green("✓") : pc.yellow("~")} diff ${heading.ref} (${heading.commit}) → working tree: ${tally(counts)}${layers.length ? ` in ${layers.length} layer${layers.length === 1 ? "" : "s"}` : ""} (${heading.seconds.toFixed(2)} s)`,
  );
  return `${out.join("\n")}\n`;
}

/** A pull-request comment stays under GitHub's 65 536 characters: past this, objects are listed without their diff. */
export const MARKDOWN_BUDGET = 60_000;
/** Lines of one object's diff shown in a comment; the rest is counted. */
export const MARKDOWN_LINES_PER_DIFF = 300;

const escapeHtml = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** A code fence longer than any run of backticks inside (a rendered README has its own fences). */
function fenced(body: string, info: string): string {
  const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${body}${body.endsWith("\n") ? "" : "\n"}${fence}`;
}

function clip(diff: string): string {
  const lines = diff.split("\n").slice(0, -1);
  if (lines.length <= MARKDOWN_LINES_PER_DIFF) return diff;
  return `${lines.slice(0, MARKDOWN_LINES_PER_DIFF).join("\n")}\n# … ${lines.length - MARKDOWN_LINES_PER_DIFF} more lines: run ktsw diff locally\n`;
}

export function formatMarkdown({ layers, withheld }: SiteDiff, heading: DiffHeading): string {
  const counts = countChanges(layers);
  const out: string[] = [`### \`ktsw diff ${heading.ref}\` (${heading.commit}) → this change: ${tally(counts)}`, ""];
  for (const w of withheld) out.push(`> ⚠ ${escapeHtml(withheldNote(w, heading.ref))}`, "");
  if (layers.length === 0)
    return `${out.join("\n")}\nNothing differs: every rendered file and every object is the same.\n`;
  out.push("| layer | added | removed | changed |", "| --- | ---: | ---: | ---: |");
  for (const layer of layers) {
    const c = countChanges([layer]);
    out.push(`| ${layer.name}${layer.about ? ` (${layer.about})` : ""} | ${c.added} | ${c.removed} | ${c.changed} |`);
  }
  out.push(`| **total** | **${counts.added}** | **${counts.removed}** | **${counts.changed}** |`, "");
  let size = out.join("\n").length;
  let clipped = 0;
  for (const layer of layers) {
    out.push(`#### ${layer.name}`, "");
    for (const group of layer.groups) {
      out.push(`**${escapeHtml(group.title)}**${group.path ? ` \`${group.path}\`` : ""}`, "");
      for (const e of group.entries) {
        const note = entryNote(e);
        const summary = `${mark[e.change]} ${e.change} <code>${escapeHtml(e.label)}</code>${note ? ` (${escapeHtml(note)})` : ""}`;
        const body = e.diff ? fenced(clip(e.diff), "diff") : "";
        const block = body ? `<details><summary>${summary}</summary>\n\n${body}\n\n</details>\n` : `${summary}\n`;
        if (body && size + block.length > MARKDOWN_BUDGET) {
          clipped++;
          out.push(`${summary} (diff withheld: comment size)`, "");
          continue;
        }
        size += block.length;
        out.push(block);
      }
    }
  }
  if (clipped > 0)
    out.push(
      `${clipped} diff${clipped === 1 ? "" : "s"} withheld to keep the comment short: run \`ktsw diff ${heading.ref}\` locally.`,
      "",
    );
  out.push(`<sub>${heading.seconds.toFixed(1)} s</sub>`, "");
  return out.join("\n");
}
