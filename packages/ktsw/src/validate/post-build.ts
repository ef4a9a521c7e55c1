// Flux's postBuild substitution on whole resources, as kustomize-controller applies it to each
// object after the kustomize build: an object labelled or annotated
// `kustomize.toolkit.fluxcd.io/substitute: disabled` is left alone; any other is serialised to
// YAML, substituted (substitute.ts) and parsed back. Working per object, not on the file text,
// matters: comments never reach Flux, so a `${X}` in a comment is neither substituted nor an error.
// Every reader of substituted manifests (validate, the MetalLB and policy readers) goes through here.
import { isDeepStrictEqual } from "node:util";
import { parse, parseAllDocuments, stringify } from "yaml";
import { cacheKey, readCached, writeCached } from "./disk-cache.ts";
import { type Obj, str } from "./flux.ts";
import { substituteVars } from "./substitute.ts";

const DISABLE_KEY = "kustomize.toolkit.fluxcd.io/substitute";

/**
 * Whether kustomize-controller substitutes at all for a Kustomization with postBuild: only when at
 * least one variable resolved (inline or substituteFrom), unless `substituteStrategy: Always`.
 * Otherwise every `${...}`, defaults included, reaches the cluster literally.
 */
export function substitutionRuns(vars: Readonly<Record<string, string>>, strategy: string | undefined): boolean {
  return strategy === "Always" || Object.keys(vars).length > 0;
}

/** Flux refuses the whole substitution when any variable name breaks its rule (see isValidVarName). */
export const invalidNameMessage = (name: string, ks: string) =>
  `variable name "${name}" is invalid (must match ^[_[:alpha:]][_[:alpha:][:digit:]]*$): Flux fails every object of ${ks}`;

export function substitutionDisabled(o: Obj): boolean {
  return (
    str(o, "metadata", "labels", DISABLE_KEY) === "disabled" ||
    str(o, "metadata", "annotations", DISABLE_KEY) === "disabled"
  );
}

export interface ResourceSubstitution {
  /** The substituted object (an undefined or unsupported `${...}` gives ""); the original when
   *  substitution is disabled or envsubst cannot parse it; none when the result is not YAML. */
  object?: Obj;
  undefinedVars: string[];
  /** Problems other than undefined variables, each a whole message. */
  problems: string[];
}

export const unsupportedMessage = (expr: string) => `${expr}: this substitution form is not supported by ktsw validate`;

/**
 * envsubst only ever acts on a `$`: an object without one comes out as it went in and reads no
 * variable, so it skips the YAML round trip (most of the tree's objects, and most of the time).
 */
export const mayReferenceVars = (o: Obj): boolean => JSON.stringify(o).includes("$");

export function substituteResource(o: Obj, vars: Readonly<Record<string, string>>): ResourceSubstitution {
  if (substitutionDisabled(o)) return { object: o, undefinedVars: [], problems: [] };
  if (!mayReferenceVars(o)) return { object: structuredClone(o), undefinedVars: [], problems: [] };
  const result = substituteVars(stringify(o), vars);
  const undefinedVars = [...new Set(result.undefinedVars)];
  const problems = [...new Set(result.unsupported)].map(unsupportedMessage);
  if (result.syntaxError) {
    problems.push(`variable substitution failed: ${result.syntaxError} (Flux would fail the whole Kustomization)`);
    return { object: o, undefinedVars, problems };
  }
  try {
    return { object: parse(result.text) as Obj, undefinedVars, problems };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return { undefinedVars, problems: [...problems, `after substitution the object is not valid YAML: ${reason}`] };
  }
}

/** Bumped when what substituteResource returns for the same object and variables changes. */
const KEPT_FORMAT = 1;

/**
 * substituteResource, kept on disk between runs under a digest of the object and the variables
 * (all it depends on): the YAML round trip of the objects that do reference variables is most of
 * a warm build otherwise. Objects that skip the round trip are not worth a file each.
 */
export function keptSubstitution(
  o: Obj,
  vars: Readonly<Record<string, string>>,
  dir: string | undefined,
): ResourceSubstitution {
  if (!dir || substitutionDisabled(o) || !mayReferenceVars(o)) return substituteResource(o, vars);
  const key = `${cacheKey([KEPT_FORMAT, o, vars])}.json`;
  const kept = readCached(dir, key);
  if (kept !== undefined) return JSON.parse(kept) as ResourceSubstitution;
  const result = substituteResource(o, vars);
  const text = JSON.stringify(result);
  // Only what JSON gives back unchanged is kept (YAML can also say .inf or .nan).
  if (isDeepStrictEqual(JSON.parse(text), result)) writeCached(dir, key, text);
  return result;
}

/** Every object of a multi-document YAML text, substituted; the problems of all of them. */
export function substituteManifests(
  text: string,
  vars: Readonly<Record<string, string>>,
): { objects: Obj[]; undefinedVars: string[]; problems: string[] } {
  const objects: Obj[] = [];
  const undefinedVars = new Set<string>();
  const problems: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    const error = doc.errors[0];
    if (error) {
      problems.push(`not valid YAML: ${error.message.split("\n")[0]}`);
      continue;
    }
    const object = doc.toJS() as Obj | null;
    if (!object || typeof object !== "object") continue;
    const r = substituteResource(object, vars);
    if (r.object) objects.push(r.object);
    for (const name of r.undefinedVars) undefinedVars.add(name);
    problems.push(...r.problems);
  }
  return { objects, undefinedVars: [...undefinedVars], problems };
}
