// Flux's postBuild variable substitution on one text, exactly as kustomize-controller runs it: the
// fluxcd/pkg/envsubst parser (a fork of drone/envsubst) with strict lookups, the default since
// kustomize-controller v1.9 (feature gate StrictPostBuildSubstitutions).
//   ${VAR}               the value; an undefined VAR is an error (strict); an empty value is fine
//   ${VAR=d} ${VAR:=d} ${VAR:-d}   d when VAR is undefined OR empty (all three alike in envsubst,
//                        unlike bash); d may hold text and nested ${...}; `$$` is not an escape in d
//   $$                   a literal `$` outside ${...}: `$${VAR}` gives `${VAR}`, `$$$${VAR}` `$${VAR}`
//   $VAR (no braces)     left alone: only the braced form is substituted
//   ${VAR-d} ${VAR+d}    not parsed by envsubst: Flux fails the Kustomization (a syntax error here too)
//   ${  ${}  ${X Y}      syntax errors, likewise
// Names are letters, digits and `_` (Flux separately refuses variables whose names do not match
// ^[_[:alpha:]][_[:alpha:][:digit:]]*$ — see isValidVarName).
// Forms envsubst evaluates but KTSW does not use are reported as unsupported rather than evaluated:
// the bash string operators (${#V} ${V^} ${V,,} ${V:1:2} ${V#p} ${V%p} ${V/p/r}), and ${V:?m} and
// ${V:+a}, which envsubst's own README lists as unsupported (it treats them as defaults, not as bash).

export interface SubstitutionResult {
  text: string;
  /** Names used without a default and not defined, in order of use. */
  undefinedVars: string[];
  /** `${...}` expressions this implementation does not evaluate. */
  unsupported: string[];
  /** Set when envsubst cannot parse the text: Flux fails the whole Kustomization. */
  syntaxError?: string;
}

type Piece = { text: string } | Expression;

interface Expression {
  /** The whole `${...}` as written, for messages. */
  raw: string;
  name: string;
  /** "" for ${VAR}; the operator otherwise: "=", ":=", ":-", ":?", ":+", "#" (length), "^^", ":", "/"... */
  op: string;
  args: Piece[];
}

/** Defaults: the value when it is non-empty, else the arguments joined (envsubst's toDefault). */
const DEFAULT_OPS = new Set(["=", ":=", ":-"]);
/** Operators envsubst accepts without reading the value (no strict-mode error for an undefined name). */
const TOLERANT_OPS = new Set(["=", ":=", ":-", ":?", ":+"]);

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

class SyntaxProblem extends Error {}

/** A recursive-descent reading of envsubst's grammar; `pieces` holds what was read before an error. */
class Parser {
  private i = 0;
  readonly pieces: Piece[] = [];

  constructor(private readonly src: string) {}

  parse(): void {
    while (this.i < this.src.length) {
      if (this.opens()) this.pieces.push(this.expression());
      else this.pieces.push({ text: this.topLevelText() });
    }
  }

  private opens(): boolean {
    if (!this.src.startsWith("${", this.i)) return false;
    this.i += 2;
    return true;
  }

  /** Text up to the next `${`; `$$` is one literal `$` (and that `$` cannot start an expression). */
  private topLevelText(): string {
    let out = "";
    while (this.i < this.src.length && !this.src.startsWith("${", this.i)) {
      if (this.src.startsWith("$$", this.i)) {
        out += "$";
        this.i += 2;
      } else out += this.src[this.i++];
    }
    return out;
  }

  private peek(ahead = 0): string {
    return this.src[this.i + ahead] ?? "";
  }

  private name(): string {
    const start = this.i;
    while (this.i < this.src.length && NAME_CHAR.test(this.peek())) this.i++;
    return this.src.slice(start, this.i);
  }

  private close(error = "bad substitution"): void {
    if (this.peek() !== "}") throw new SyntaxProblem(error);
    this.i++;
  }

  /** After `${`. */
  private expression(): Expression {
    const start = this.i - 2;
    const done = (name: string, op: string, args: Piece[]): Expression => ({
      raw: this.src.slice(start, this.i),
      name,
      op,
      args,
    });
    if (this.peek() === "#") {
      this.i++;
      const name = this.name();
      if (!name) throw new SyntaxProblem("bad substitution");
      this.close();
      return done(name, "#", []);
    }
    const name = this.name();
    if (!name) throw new SyntaxProblem("unable to parse variable name");
    const c = this.peek();
    if (c === ":" && "=-?+".includes(this.peek(1)) && this.peek(1) !== "") {
      const op = this.src.slice(this.i, this.i + 2);
      this.i += 2;
      return done(name, op, this.defaultArgs());
    }
    if (c === "=") {
      this.i++;
      return done(name, "=", this.defaultArgs());
    }
    // envsubst's scanner cannot step back over a `:` that ends the text: it reports "bad substitution".
    if (c === ":" && this.peek(1) === "") throw new SyntaxProblem("bad substitution");
    if (c === ":") return done(name, ":", this.substringArgs());
    if (c === "," || c === "^") return done(name, this.operator(/[,^]/), this.closed([]));
    if (c === "#") return done(name, this.operator(/#/), this.closed([this.argument(/}/)]));
    if (c === "%") return done(name, this.operator(/%/), this.closed([this.argument(/}/)]));
    if (c === "/") return done(name, ...this.replaceArgs());
    this.close("missing closing brace");
    return done(name, "", []);
  }

  private closed(args: Piece[]): Piece[] {
    this.close();
    return args;
  }

  /** One or two characters of one operator class (`^^`, `,`, `##`, `%`). */
  private operator(chars: RegExp): string {
    const start = this.i;
    while (this.i - start < 2 && chars.test(this.peek())) this.i++;
    return this.src.slice(start, this.i);
  }

  /** A default: any mix of text and nested expressions up to the closing brace; no escapes. */
  private defaultArgs(): Piece[] {
    const args: Piece[] = [];
    while (this.peek() !== "}") args.push(this.argument(/}/));
    this.i++;
    return args;
  }

  /** One argument: a nested expression, or text up to a stop character or `${`. */
  private argument(stop: RegExp, escapes = false): Piece {
    if (this.i >= this.src.length) throw new SyntaxProblem("unable to parse substitution within function");
    if (this.opens()) return this.expression();
    let out = "";
    while (this.i < this.src.length && !this.src.startsWith("${", this.i)) {
      const c = this.peek();
      if (escapes && ((c === "$" && this.peek(1) === "$") || (c === "\\" && "/\\".includes(this.peek(1) || "x")))) {
        out += this.peek(1);
        this.i += 2;
        continue;
      }
      if (stop.test(c)) break;
      out += c;
      this.i++;
    }
    if (out === "") throw new SyntaxProblem("unable to parse substitution within function");
    return { text: out };
  }

  /** `${V:offset}` or `${V:offset:length}`. */
  private substringArgs(): Piece[] {
    this.i++;
    const args = [this.argument(/[:}]/)];
    if (this.peek() === "}") {
      this.i++;
      return args;
    }
    if (this.peek() !== ":") throw new SyntaxProblem("bad substitution");
    while (this.peek() === ":") this.i++;
    args.push(this.argument(/}/));
    return this.closed(args);
  }

  /** `${V/p/r}`, `${V//p/r}`, `${V/#p/r}`, `${V/%p/r}`; the replacement may be empty. */
  private replaceArgs(): [string, Piece[]] {
    const start = this.i;
    this.i++;
    if ("/#%".includes(this.peek()) && this.peek() !== "") this.i++;
    const op = this.src.slice(start, this.i);
    const args = [this.argument(/\//, true)];
    if (this.peek() !== "/") throw new SyntaxProblem("bad substitution");
    while (this.peek() === "/") this.i++;
    if (this.peek() !== "}") args.push(this.argument(/}/, true));
    return [op, this.closed(args)];
  }
}

function parse(input: string): { pieces: Piece[]; syntaxError?: string } {
  const parser = new Parser(input);
  try {
    parser.parse();
    return { pieces: parser.pieces };
  } catch (err) {
    if (!(err instanceof SyntaxProblem)) throw err;
    return { pieces: parser.pieces, syntaxError: err.message };
  }
}

export function substituteVars(input: string, vars: Readonly<Record<string, string>>): SubstitutionResult {
  const { pieces, syntaxError } = parse(input);
  const undefinedVars: string[] = [];
  const unsupported: string[] = [];
  const lookup = (name: string) => (Object.hasOwn(vars, name) ? vars[name] : undefined);
  const evaluate = (piece: Piece): string => {
    if ("text" in piece) return piece.text;
    const args = piece.args.map(evaluate);
    const value = lookup(piece.name);
    if (value === undefined && !TOLERANT_OPS.has(piece.op)) undefinedVars.push(piece.name);
    if (piece.op === "") return value ?? "";
    if (DEFAULT_OPS.has(piece.op)) return value || (args.length > 0 ? args.join("") : "");
    unsupported.push(piece.raw);
    return "";
  };
  if (syntaxError) return { text: input, undefinedVars, unsupported, syntaxError };
  return { text: pieces.map(evaluate).join(""), undefinedVars, unsupported };
}

/** Every variable name a text's `${...}` expressions read (nested ones too), skipping `$$`-escaped ones. */
export function referencedVars(input: string): string[] {
  const names: string[] = [];
  const visit = (piece: Piece) => {
    if ("text" in piece) return;
    names.push(piece.name);
    piece.args.forEach(visit);
  };
  parse(input).pieces.forEach(visit);
  return names;
}

// Go's [:alpha:] and [:digit:] are ASCII.
const VAR_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

/** Flux refuses to substitute at all when a variable's name (a substitute or substituteFrom key) fails this. */
export function isValidVarName(name: string): boolean {
  return VAR_NAME.test(name);
}
