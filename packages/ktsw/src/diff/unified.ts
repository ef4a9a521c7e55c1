// A unified diff of two texts, line by line, as `diff -u` and `git diff` print it: `---`/`+++`
// labels, `@@ -a,b +c,d @@` hunks with 3 lines of context. Myers' O(ND) algorithm on what is left
// after the common head and tail, so a small edit in a large file (a CRD) costs little.

export interface UnifiedOptions {
  /** Label of the old side (`--- <from>`), e.g. `a/<file>` or `/dev/null`. */
  from: string;
  /** Label of the new side (`+++ <to>`). */
  to: string;
  /** Unchanged lines shown around each change (default 3). */
  context?: number;
}

type Op = { kind: " " | "-" | "+"; line: string; oldNo: number; newNo: number };

/** Past this many differing lines, the middle is shown as removed then added: a line-exact diff would need too much memory. */
const MAX_EDIT_DISTANCE = 2000;

interface Lines {
  text: string[];
  /** Comparison keys: the last line of a text without a final newline differs from the same line with one. */
  keys: string[];
  noFinalNewline: boolean;
}

function splitLines(text: string): Lines {
  if (text === "") return { text: [], keys: [], noFinalNewline: false };
  const text_ = text.split("\n");
  const noFinalNewline = text_[text_.length - 1] !== "";
  if (!noFinalNewline) text_.pop();
  const keys = [...text_];
  if (noFinalNewline) keys[keys.length - 1] = `${keys[keys.length - 1]}\0no-newline`;
  return { text: text_, keys, noFinalNewline };
}

/** The edit script from a to b (Myers), as a list of kept/removed/added indexes. */
function editScript(a: readonly string[], b: readonly string[]): ("=" | "-" | "+")[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= Math.min(max, MAX_EDIT_DISTANCE); d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found >= 0) break;
  }
  if (found < 0) return [...a.map(() => "-" as const), ...b.map(() => "+" as const)];
  // Walk back through the saved frontiers: trace[d] holds v[-d-1 .. d+1] as it was before step d.
  const script: ("=" | "-" | "+")[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const before = trace[d] as Int32Array;
    const at = (k: number) => before[k + d + 1] as number;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      script.push("=");
      x--;
      y--;
    }
    script.push(down ? "+" : "-");
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    script.push("=");
    x--;
    y--;
  }
  return script.reverse();
}

function operations(a: Lines, b: Lines): Op[] {
  let head = 0;
  while (head < a.keys.length && head < b.keys.length && a.keys[head] === b.keys[head]) head++;
  let tail = 0;
  while (
    tail < a.keys.length - head &&
    tail < b.keys.length - head &&
    a.keys[a.keys.length - 1 - tail] === b.keys[b.keys.length - 1 - tail]
  )
    tail++;
  const middle = editScript(a.keys.slice(head, a.keys.length - tail), b.keys.slice(head, b.keys.length - tail));
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  const keep = () => {
    ops.push({ kind: " ", line: a.text[i] as string, oldNo: i, newNo: j });
    i++;
    j++;
  };
  while (i < head) keep();
  for (const step of middle) {
    if (step === "=") keep();
    else if (step === "-") ops.push({ kind: "-", line: a.text[i] as string, oldNo: i++, newNo: j });
    else ops.push({ kind: "+", line: b.text[j] as string, oldNo: i, newNo: j++ });
  }
  while (i < a.text.length) keep();
  return ops;
}

/** `start,count` of a hunk side; an empty side names the line before it, as diff does. */
function range(start: number, count: number): string {
  if (count === 0) return `${start},0`;
  return count === 1 ? `${start + 1}` : `${start + 1},${count}`;
}

/** The unified diff of `before` and `after`; "" when they are equal. */
export function unifiedDiff(before: string, after: string, opts: UnifiedOptions): string {
  if (before === after) return "";
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = operations(a, b);
  const context = opts.context ?? 3;
  const changed = ops.flatMap((op, index) => (op.kind === " " ? [] : [index]));
  if (changed.length === 0) return "";
  const out = [`--- ${opts.from}`, `+++ ${opts.to}`];
  let index = 0;
  while (index < changed.length) {
    const first = changed[index] as number;
    let last = first;
    // Changes closer than twice the context share one hunk.
    while (index + 1 < changed.length && (changed[index + 1] as number) - last <= 2 * context)
      last = changed[++index] as number;
    index++;
    const start = Math.max(0, first - context);
    const end = Math.min(ops.length - 1, last + context);
    const slice = ops.slice(start, end + 1);
    const opening = slice[0] as Op;
    const oldCount = slice.filter((op) => op.kind !== "+").length;
    const newCount = slice.filter((op) => op.kind !== "-").length;
    out.push(`@@ -${range(opening.oldNo, oldCount)} +${range(opening.newNo, newCount)} @@`);
    for (const op of slice) {
      out.push(`${op.kind}${op.line}`);
      const lastOld = op.kind !== "+" && a.noFinalNewline && op.oldNo === a.text.length - 1;
      const lastNew = op.kind !== "-" && b.noFinalNewline && op.newNo === b.text.length - 1;
      if (lastOld || lastNew) out.push("\\ No newline at end of file");
    }
  }
  return `${out.join("\n")}\n`;
}
