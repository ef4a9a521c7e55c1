// Policy checks for Kubernetes objects in Git, with Gatekeeper's own engine.
//
//   checkPolicies(inputs: PolicyInput[], opts?: CheckPoliciesOptions): Promise<Finding[]>
//
// `inputs` are parsed Kubernetes objects with the file and 1-based line where each document starts
// (and optionally a `locate` callback for field-level positions; `policyInputsFromFiles` in
// inputs.ts builds them from YAML files). Every ConstraintTemplate and Constraint under
// kubernetes/platform/gatekeeper is evaluated against all inputs at once, and each violation
// becomes a Finding on the object's file and line (rule `policy.<constraint name>`). Pass every
// document of the tree: Gatekeeper's own kinds and the policy suites' samples are skipped here.
//
// Engine: `gator test` (Gatekeeper's CLI, pinned in deps/go-tools.txt to the chart's release), not
// plain `opa eval`, because gator applies what Gatekeeper applies in the cluster: the constraint's
// match (kinds, excludedNamespaces), parameters, enforcement actions, Rego v1 sources and libs, and
// data.inventory filled from the given objects (so the namespace policy sees the NetworkPolicies in
// Git). Site variables in constraints (${SITE_DOMAIN}) are substituted like Flux does, from the
// rendered cluster-settings ConfigMap unless `opts.siteVars` is given.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import type { PathSegment } from "../config/locate.ts";
import { type Finding, finding, type Severity } from "../diagnostics.ts";
import { requireTool } from "../tools/find.ts";
import { cacheKey, programDigest, readCached, writeCached } from "../validate/disk-cache.ts";
import { objectDigest } from "../validate/object-digest.ts";
import { substituteManifests } from "../validate/post-build.ts";
import { readClusterSettings } from "./site.ts";
import { GATEKEEPER_DIR, usesExternalData } from "./templates.ts";

export interface PolicyInput {
  /** As it should appear in findings (relative to the repository). */
  file: string;
  /** 1-based line where the object's document starts. */
  line: number;
  /** 1-based column; 1 when omitted. */
  col?: number;
  /** The parsed Kubernetes object. Documents without apiVersion, kind and metadata.name are skipped. */
  object: unknown;
  /** Optional: position of a field path inside this document, for pointing at the exact field. */
  locate?: (path: readonly PathSegment[]) => { line: number; col: number };
  /** Where the object comes from when it is not written in `file` (e.g. the chart that renders it). */
  origin?: string;
}

export interface CheckPoliciesOptions {
  /** Repository root holding kubernetes/platform/gatekeeper; default the current directory. */
  root?: string;
  /** Values for ${VAR} in constraints; default the rendered cluster-settings ConfigMap's data. */
  siteVars?: Record<string, string>;
  /** gator binary; default found on PATH or in $(go env GOPATH)/bin. */
  gator?: string;
  /**
   * Where gator's results are kept between runs, keyed by the gator binary, the staged policies and
   * the objects: an unchanged tree is not evaluated again. None: always run gator.
   */
  cacheDir?: string;
}

/** The part of a `gator test -o json` result we use. */
interface GatorResult {
  msg: string;
  enforcementAction?: string;
  constraint?: { kind?: string; metadata?: { name?: string }; spec?: { scopedEnforcementActions?: ScopedAction[] } };
  violatingObject?: { metadata?: { annotations?: Record<string, string> } };
}

interface ScopedAction {
  action?: string;
  enforcementPoints?: { name?: string }[];
}

/** Marks each object we hand to gator so a violation maps back to its input without guessing. */
export const INPUT_ANNOTATION = "ktsw.dev/policy-input";

const GATOR_POINT = "gator.gatekeeper.sh";

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
}

function isK8sObject(o: unknown): o is K8sObject {
  const obj = o as Partial<K8sObject> | null;
  return (
    typeof obj === "object" &&
    obj !== null &&
    typeof obj.apiVersion === "string" &&
    typeof obj.kind === "string" &&
    typeof obj.metadata?.name === "string"
  );
}

/**
 * Gatekeeper's own kinds in the inputs (the tree's templates and constraints, gator suites) are
 * not objects to review: gator would load them as extra policies, with ${SITE_DOMAIN} unsubstituted.
 * The policies are always staged from the repository instead.
 */
export function isPolicyMachinery(obj: { apiVersion: string }): boolean {
  const group = obj.apiVersion.split("/")[0] ?? "";
  return [
    "templates.gatekeeper.sh",
    "constraints.gatekeeper.sh",
    "expansion.gatekeeper.sh",
    "test.gatekeeper.sh",
  ].includes(group);
}

/** The policy suites' samples are deliberately bad; they are tested by `gator verify`, not reviewed. */
export function isPolicySample(file: string): boolean {
  return file.replaceAll("\\", "/").includes(`${GATEKEEPER_DIR}/policies/`);
}

/** Whether gator reviews this input (the rest are policies themselves, their samples, or not objects). */
const reviewed = (input: PolicyInput): input is PolicyInput & { object: K8sObject } =>
  isK8sObject(input.object) && !isPolicyMachinery(input.object) && !isPolicySample(input.file);

/** The objects file for gator: each object tagged with its input index. */
export function taggedObjectsYaml(inputs: readonly PolicyInput[]): string {
  const docs: string[] = [];
  inputs.forEach((input, index) => {
    if (!reviewed(input)) return;
    // Copies of the levels that change only: the object itself is never touched.
    const obj = {
      ...input.object,
      metadata: {
        ...input.object.metadata,
        annotations: { ...input.object.metadata.annotations, [INPUT_ANNOTATION]: String(index) },
      },
    };
    // JSON is YAML to gator, and writing it is many times faster than YAML for hundreds of objects.
    docs.push(JSON.stringify(obj));
  });
  return docs.join("\n---\n");
}

/** deny → error; warn and dryrun → warning. `scoped` uses the action set for the gator enforcement point. */
export function severityOf(result: GatorResult): Severity {
  let action = result.enforcementAction ?? "deny";
  if (action === "scoped") {
    const scoped = result.constraint?.spec?.scopedEnforcementActions ?? [];
    const applies = scoped.filter((s) => s.enforcementPoints?.some((p) => p.name === GATOR_POINT || p.name === "*"));
    action = applies.some((s) => s.action === "deny") ? "deny" : (applies[0]?.action ?? "warn");
  }
  return action === "deny" ? "error" : "warning";
}

/**
 * The field a message is about, as path segments: our policies start the message with it
 * (`spec.template.spec.hostNetwork: ...`) or put it in parentheses after a container's name.
 */
export function pathInMessage(msg: string): PathSegment[] | undefined {
  const m = /^((?:metadata|spec)(?:\.[A-Za-z]+|\[\d+\])*)|\(((?:metadata|spec)(?:\.[A-Za-z]+|\[\d+\])*)\)/.exec(msg);
  const found = m?.[1] ?? m?.[2];
  if (!found) return undefined;
  return [...found.matchAll(/([A-Za-z]+)|\[(\d+)\]/g)].map((m) =>
    m[2] !== undefined ? Number(m[2]) : (m[1] as string),
  );
}

export function toFinding(result: GatorResult, inputs: readonly PolicyInput[]): Finding {
  const index = Number(result.violatingObject?.metadata?.annotations?.[INPUT_ANNOTATION]);
  const input = inputs[index];
  const path = pathInMessage(result.msg);
  const at = input && path && input.locate ? input.locate(path) : { line: input?.line ?? 0, col: input?.col ?? 1 };
  const obj = input?.object as K8sObject | undefined;
  const what = obj
    ? `${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ""}${obj.metadata.name}`
    : "";
  const constraint = result.constraint?.metadata?.name ?? "unknown";
  return finding(
    // A rendered object's message names it (and its chart); the path would only repeat it.
    { file: input?.file ?? "", ...at, path: input?.origin ? "" : what },
    `${input?.origin ? `${input.origin}, ${what}: ` : ""}${result.msg} [${result.constraint?.kind ?? "constraint"} ${constraint}]`,
    `policy.${constraint}`,
    severityOf(result),
  );
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

interface PolicySourceFile {
  sub: "templates" | "constraints";
  name: string;
  text: string;
}

/** The templates' and constraints' files as written, but for the policies gator cannot run (offlinePolicies). */
async function policySources(root: string): Promise<PolicySourceFile[]> {
  const out: PolicySourceFile[] = [];
  for (const sub of ["templates", "constraints"] as const) {
    const from = join(root, GATEKEEPER_DIR, sub);
    for (const name of (await readdir(from)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort())
      out.push({ sub, name, text: await readFile(join(from, name), "utf8") });
  }
  return offlinePolicies(out);
}

/**
 * The sources without the templates that call an external data provider, and without those templates' constraints
 * (pure): gator cannot compile them (usesExternalData), and their verdict needs the provider, which only the cluster
 * runs. Admission and audit enforce them; their unit tests mock the provider.
 */
export function offlinePolicies<T extends { sub: "templates" | "constraints"; text: string }>(
  sources: readonly T[],
): T[] {
  type Doc = { kind?: unknown; spec?: { crd?: { spec?: { names?: { kind?: unknown } } } } } | null;
  const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as Doc);
  const online = new Set(
    sources
      .filter((s) => s.sub === "templates" && usesExternalData(s.text))
      .flatMap((s) => docs(s.text).map((d) => d?.spec?.crd?.spec?.names?.kind)),
  );
  const kinds = [...online].filter((k): k is string => typeof k === "string");
  return sources.filter((s) => {
    if (s.sub === "templates") return !usesExternalData(s.text);
    // Only a constraint whose text names one of those kinds can be one of them: the others are not parsed at all.
    if (!kinds.some((k) => s.text.includes(k))) return true;
    return !docs(s.text).some((d) => online.has(d?.kind));
  });
}

/** Writes the policy sources into `dir`, substituting site variables in them. */
async function stagePolicies(
  sources: readonly PolicySourceFile[],
  dir: string,
  vars: Record<string, string>,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const { sub, name, text } of sources) {
    const file = join(GATEKEEPER_DIR, sub, name);
    const { objects, undefinedVars, problems } = substituteManifests(text, vars);
    const needs = undefinedVars.map((v) => `\${${v}}`).join(", ");
    if (needs) problems.unshift(`needs ${needs}; render cluster settings first (\`ktsw render\`) or pass siteVars`);
    for (const message of problems) findings.push(finding({ file }, message, "policy.site-settings"));
    await writeFile(join(dir, `${sub}-${name}`), objects.map((o) => stringify(o)).join("---\n"));
  }
  return findings;
}

/** Bumped when staging (or what is kept) changes: the key holds the policy sources, not the staged files. */
const KEPT_FORMAT = 3;

export async function checkPolicies(
  inputs: readonly PolicyInput[],
  opts: CheckPoliciesOptions = {},
): Promise<Finding[]> {
  const root = opts.root ?? process.cwd();
  const gator = opts.gator ?? requireTool("gator");
  const vars = opts.siteVars ?? readClusterSettings(root) ?? {};
  const sources = await policySources(root);
  // Keyed by what staging reads (the sources and the variables), so a kept result needs no staging, and by each
  // reviewed object's index and content digest, so a kept result needs no objects file either;
  // results are only kept when staging found nothing to say.
  const reviewedObjects = inputs.flatMap((input, index) =>
    reviewed(input) ? [[index, objectDigest(input.object)]] : [],
  );
  const key = `${cacheKey([KEPT_FORMAT, programDigest(gator), sources, vars, reviewedObjects])}.json`;
  const kept = reviewedObjects.length === 0 ? undefined : readCached(opts.cacheDir, key);
  if (kept !== undefined) return toFindings(kept, inputs);
  const objects = taggedObjectsYaml(inputs);
  const dir = await mkdtemp(join(tmpdir(), "ktsw-policy-"));
  try {
    const policyDir = join(dir, "policies");
    await mkdir(policyDir);
    const setup = await stagePolicies(sources, policyDir, vars);
    if (setup.length > 0) return setup;
    if (objects === "") return [];
    const objectsFile = join(dir, "objects.yaml");
    await writeFile(objectsFile, objects);
    const { code, stdout, stderr } = await run(gator, ["test", "-f", policyDir, "-f", objectsFile, "-o", "json"]);
    try {
      JSON.parse(stdout);
    } catch {
      throw new Error(`gator test failed (exit ${code}): ${stderr.trim() || stdout.trim()}`);
    }
    writeCached(opts.cacheDir, key, stdout);
    return toFindings(stdout, inputs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function toFindings(results: string, inputs: readonly PolicyInput[]): Finding[] {
  return ((JSON.parse(results) as GatorResult[] | null) ?? []).map((r) => toFinding(r, inputs));
}
