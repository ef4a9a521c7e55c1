// The Rego of each ConstraintTemplate is written once, as `.rego` files next to their `opa test`
// unit tests, and copied into the template YAML by `sync-templates.ts`. Generating (rather than
// hand-copying and comparing) keeps one source of truth; the drift test runs `syncTemplate` and
// fails when a committed template differs from what the `.rego` files produce.
//
// Layout (under kubernetes/platform/gatekeeper):
//   policies/<name>/<name>.rego        main module (package <name>)
//   policies/<name>/<name>_test.rego   opa unit tests
//   policies/lib/<lib>.rego            shared modules (package lib.<lib>), embedded as `libs`
//                                      into every template whose Rego says `import data.lib.<lib>`
//   templates/<name>.yaml              ConstraintTemplate; spec.targets[0].code[0].source.{rego,libs}

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isMap, isSeq, parseDocument, Scalar } from "yaml";

export const GATEKEEPER_DIR = "kubernetes/platform/gatekeeper";

export interface PolicySource {
  name: string;
  regoFile: string;
  templateFile: string;
  rego: string;
  /** Lib module texts, in the order the main module imports them. */
  libs: string[];
}

/**
 * Whether Rego asks a Gatekeeper external data provider (the `external_data` builtin, e.g. Ratify's signature
 * verification). Only the running Gatekeeper has that builtin: gator (`gator verify`, `ktsw validate`) refuses to
 * compile such a template, and offline there is nobody to ask anyway. Its unit tests mock the call instead.
 */
export function usesExternalData(text: string): boolean {
  return /\bexternal_data\s*\(/.test(text);
}

/** Names of the `lib.*` packages a module imports, in order of appearance. */
export function importedLibs(rego: string): string[] {
  return [...rego.matchAll(/^import data\.lib\.([A-Za-z0-9_]+)/gm)].map((m) => m[1] as string);
}

/** Reads every policy folder (all but `lib`) under `<root>/policies`. */
export function readPolicySources(root: string): PolicySource[] {
  const policiesDir = join(root, GATEKEEPER_DIR, "policies");
  const names = readdirSync(policiesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== "lib")
    .map((d) => d.name)
    .sort();
  return names.map((name) => {
    const regoFile = join(policiesDir, name, `${name}.rego`);
    const rego = readFileSync(regoFile, "utf8");
    const libs = importedLibs(rego).map((lib) => readFileSync(join(policiesDir, "lib", `${lib}.rego`), "utf8"));
    return { name, regoFile, templateFile: join(root, GATEKEEPER_DIR, "templates", `${name}.yaml`), rego, libs };
  });
}

function blockLiteral(text: string): Scalar {
  const s = new Scalar(text);
  s.type = Scalar.BLOCK_LITERAL;
  return s;
}

const SOURCE_PATH = ["spec", "targets", 0, "code", 0, "source"];

/** Returns the template text with its Rego source (and libs) replaced; comments and layout kept. */
export function syncTemplate(templateText: string, rego: string, libs: readonly string[]): string {
  const doc = parseDocument(templateText);
  if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
  const source = doc.getIn(SOURCE_PATH);
  if (!isMap(source)) throw new Error("spec.targets[0].code[0].source is missing (engine: Rego expected there)");
  source.set("rego", blockLiteral(rego));
  if (libs.length > 0) {
    source.set("libs", doc.createNode(libs.map(blockLiteral)));
  } else {
    source.delete("libs");
  }
  return doc.toString({ lineWidth: 0 });
}

/** The Rego a template currently embeds (for reporting which part drifted). */
export function embeddedSource(templateText: string): { rego: string; libs: string[] } {
  const doc = parseDocument(templateText);
  const rego = doc.getIn([...SOURCE_PATH, "rego"]);
  const libs = doc.getIn([...SOURCE_PATH, "libs"]);
  return {
    rego: typeof rego === "string" ? rego : "",
    libs: isSeq(libs) ? libs.items.map((i) => String(i instanceof Scalar ? i.value : i)) : [],
  };
}
