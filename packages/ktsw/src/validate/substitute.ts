// Flux's postBuild variable substitution, as kustomize-controller does it (fluxcd/pkg envsubst):
//   ${VAR}                      the value; undefined is an error here (Flux's strict mode)
//   ${VAR:=default} ${VAR:-default} ${VAR=default} ${VAR-default}   default when unset (or empty for ':')
//   $$                          a literal `$` — so `$${VAR}` stays `${VAR}` in the applied object
//   $VAR (no braces)            left alone: Flux only substitutes the braced form
// The input is one object's YAML, like Flux substitutes each resource after the kustomize build.
// Bash string operators (${VAR^^}, ${VAR#x}...) are accepted by Flux but not used in KTSW: they are
// reported as unsupported rather than silently half-evaluated.

export interface SubstitutionResult {
  text: string;
  /** Names used without a default and not defined. */
  undefinedVars: string[];
  /** Expressions this implementation does not evaluate. */
  unsupported: string[];
}

const VAR_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;
const DEFAULT_FORM = /^([_a-zA-Z][_a-zA-Z0-9]*)(:=|:-|=|-)([\s\S]*)$/;

export function isValidVarName(name: string): boolean {
  return VAR_NAME.test(name);
}

export function substituteVars(input: string, vars: Readonly<Record<string, string>>): SubstitutionResult {
  const undefinedVars: string[] = [];
  const unsupported: string[] = [];
  let out = "";
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c !== "$") {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (next !== "{") {
      out += c;
      i++;
      continue;
    }
    const close = input.indexOf("}", i + 2);
    if (close < 0) {
      out += input.slice(i);
      break;
    }
    const expr = input.slice(i + 2, close);
    out += evaluate(expr, vars, undefinedVars, unsupported);
    i = close + 1;
  }
  return { text: out, undefinedVars, unsupported };
}

function evaluate(expr: string, vars: Readonly<Record<string, string>>, undef: string[], unsup: string[]): string {
  if (VAR_NAME.test(expr)) {
    const value = vars[expr];
    if (value === undefined) {
      undef.push(expr);
      return "";
    }
    return value;
  }
  const m = DEFAULT_FORM.exec(expr);
  if (m) {
    const [, name = "", op = "", fallback = ""] = m;
    const value = vars[name];
    const useDefault = value === undefined || (op.startsWith(":") && value === "");
    return useDefault ? fallback : value;
  }
  unsup.push(`\${${expr}}`);
  return "";
}

/** Every `${...}` expression's variable name in a text, skipping `$$`-escaped ones. */
export function referencedVars(input: string): string[] {
  const names: string[] = [];
  const re = /\$(\$)?\{([_a-zA-Z][_a-zA-Z0-9]*)/g;
  for (const m of input.matchAll(re)) if (!m[1] && m[2]) names.push(m[2]);
  return names;
}
