// Finds and compiles the JSON schema for an object's apiVersion and kind: built-in kinds from the
// strict Kubernetes schemas, custom resources from the CRD catalog layout
// `<group>/<kind lower>_<version>.json` (a local folder, or a URL whose files are cached on disk).
// Both families are draft-04 style (openapi2jsonschema output), hence ajv-draft-04; formats such as
// int-or-string are Kubernetes' own and are not checked (kubeconform does the same).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Script } from "node:vm";
import type { ErrorObject, ValidateFunction } from "ajv";
import standaloneModule from "ajv/dist/standalone/index.js";
import AjvDraft04 from "ajv-draft-04";
import { fileDigest } from "./disk-cache.ts";

// CommonJS package: under NodeNext its class is the `default` of the default import.
type AjvClass = typeof AjvDraft04.default;
export const Ajv: AjvClass =
  (AjvDraft04 as unknown as { default?: AjvClass }).default ?? (AjvDraft04 as unknown as AjvClass);

export interface SchemaSources {
  /** Folder with `_definitions.json` and `<kind>-<group>-<version>.json`. */
  builtinDir: string;
  /** Folder or http(s) URL of the CRD catalog. */
  crds: string;
  /** Where downloaded CRD schemas are kept when `crds` is a URL. */
  cacheDir: string;
  /**
   * Where compiled validators are kept as generated code (ajv standalone), keyed by a hash of the
   * schema: compiling the large CRD schemas costs more than everything else validate does.
   */
  validatorCacheDir?: string;
}

export type SchemaLookup =
  | {
      found: true;
      /** Loaded (or compiled) on its first call: an object already known valid against `key` never needs it. */
      validate: ValidateFunction;
      /** The validator's identity: a digest of the compile options and the schema's text. */
      key: string;
      source: string;
    }
  | { found: false; tried: string[] };

/** API groups that belong to Kubernetes itself: their kinds never come from a CRD. */
export function isBuiltinGroup(group: string): boolean {
  return (
    group === "" ||
    ["apps", "batch", "autoscaling", "policy", "extensions"].includes(group) ||
    (group.endsWith(".k8s.io") &&
      !group.endsWith(".x-k8s.io") &&
      !group.startsWith("gateway.") &&
      !group.startsWith("snapshot.") &&
      !group.startsWith("autoscaling.k8s.io"))
  );
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf("/");
  return i < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function builtinSchemaFile(group: string, version: string, kind: string): string {
  const g = group === "" ? "" : `-${group.split(".")[0]}`;
  return `${kind.toLowerCase()}${g}-${version}.json`;
}

export class SchemaStore {
  private readonly ajv = new Ajv({
    strict: false,
    allErrors: true,
    validateFormats: false,
    logger: false,
    code: { source: true },
  });
  private definitionsHash = "";
  private readonly compiled = new Map<string, SchemaLookup>();
  private definitionsLoaded = false;
  private readonly uncachedCode: { script: Script; cacheFile: string }[] = [];

  constructor(
    private readonly sources: SchemaSources,
    /**
     * Schemas of kinds defined inside the tree: CRDs by `group/version/kind`, Gatekeeper constraints
     * by `group/kind`; each made when its kind is first looked up.
     */
    private readonly treeKinds: ReadonlyMap<string, () => object> = new Map(),
  ) {}

  async lookup(apiVersion: string, kind: string): Promise<SchemaLookup> {
    const key = `${apiVersion}/${kind}`;
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const result = await this.load(apiVersion, kind);
    this.compiled.set(key, result);
    return result;
  }

  private async load(apiVersion: string, kind: string): Promise<SchemaLookup> {
    const { group, version } = splitApiVersion(apiVersion);
    // A CRD the tree (or a chart of it) installs is the schema the cluster will use: before the catalog.
    const fromTree = this.treeKinds.get(`${group}/${version}/${kind}`) ?? this.treeKinds.get(`${group}/${kind}`);
    // Kept compiled like the catalog's: a chart's CRDs (VictoriaMetrics', Cilium's) take seconds to compile.
    if (fromTree) {
      const schema = fromTree();
      return { found: true, ...this.cachedCompile(JSON.stringify(schema), false, () => schema), source: "the tree" };
    }
    if (isBuiltinGroup(group)) {
      const file = join(this.sources.builtinDir, builtinSchemaFile(group, version, kind));
      if (!existsSync(file)) return { found: false, tried: [file] };
      const text = readFileSync(file, "utf8");
      const compiled = this.cachedCompile(text, true, () => {
        this.loadDefinitions();
        return parseSchema(text);
      });
      return { found: true, ...compiled, source: file };
    }
    const rel = `${group}/${kind.toLowerCase()}_${version}.json`;
    const schema = await this.crdSchema(rel);
    if (schema.text === undefined) return { found: false, tried: [schema.where] };
    const text = schema.text;
    return { found: true, ...this.cachedCompile(text, false, () => parseSchema(text)), source: schema.where };
  }

  /** A schema's validator and its key: compiled, or loaded from the code an earlier run generated for the same schema
   *  text, when it is first called. */
  private cachedCompile(
    text: string,
    needsDefinitions: boolean,
    schema: () => object,
  ): { validate: ValidateFunction; key: string } {
    const dir = this.sources.validatorCacheDir;
    if (needsDefinitions && !this.definitionsHash)
      this.definitionsHash = fileDigest(join(this.sources.builtinDir, "_definitions.json"));
    const key = sha256(`${AJV_CACHE_VERSION}\n${needsDefinitions ? this.definitionsHash : ""}\n${text}`);
    const make = (): ValidateFunction => {
      if (!dir) return this.ajv.compile(schema());
      const file = join(dir, `${key}.cjs`);
      if (existsSync(file)) return this.loadStandalone(file);
      const validate = this.ajv.compile(schema());
      const code = standaloneCode(this.ajv, validate);
      mkdirSync(dir, { recursive: true });
      // Write then rename: a concurrent run never reads half a file.
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, code);
      renameSync(tmp, file);
      return validate;
    };
    let made: ValidateFunction | undefined;
    const validate = ((data: unknown) => {
      made ??= make();
      const ok = made(data);
      validate.errors = made.errors;
      return ok;
    }) as ValidateFunction;
    return { validate, key };
  }

  /**
   * Evaluates ajv standalone (CommonJS) code; its runtime helpers resolve from this package. The
   * built-in kinds' validators are megabytes of code: V8's own code cache for each (`.v8` beside
   * it, written by keepCompiledCode once the validators have run) spares parsing and compiling them
   * again. V8 refuses a cache made by another version of itself, and the code is then compiled anew.
   */
  private loadStandalone(file: string): ValidateFunction {
    const cacheFile = `${file}.v8`;
    const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
    const script = new Script(`(function (require, module, exports) {${readFileSync(file, "utf8")}\n})`, {
      filename: file,
      ...(cachedData ? { cachedData } : {}),
    });
    if (!cachedData || script.cachedDataRejected) this.uncachedCode.push({ script, cacheFile });
    const module = { exports: {} as unknown };
    script.runInThisContext()(requireFromHere, module, module.exports);
    return module.exports as ValidateFunction;
  }

  /** Writes V8's code cache of the validators loaded without one (after they ran: it then holds what they compiled). */
  keepCompiledCode(): void {
    for (const { script, cacheFile } of this.uncachedCode.splice(0)) {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    }
  }

  private loadDefinitions(): void {
    if (this.definitionsLoaded) return;
    // The kind files refer to "/api/_definitions.json#/$defs/..."; register the file under that id.
    this.ajv.addSchema(
      readJson(join(this.sources.builtinDir, "_definitions.json")) as object,
      "/api/_definitions.json",
    );
    this.definitionsLoaded = true;
  }

  private async crdSchema(rel: string): Promise<{ text?: string; where: string }> {
    const { crds, cacheDir } = this.sources;
    if (!/^https?:\/\//.test(crds)) {
      const file = join(crds, rel);
      return existsSync(file) ? { text: readFileSync(file, "utf8"), where: file } : { where: file };
    }
    const cached = join(cacheDir, rel);
    if (existsSync(cached)) return { text: readFileSync(cached, "utf8"), where: cached };
    const url = `${crds.replace(/\/$/, "")}/${rel}`;
    let res: Response;
    try {
      res = await fetch(url);
    } catch (err) {
      // Unreachable is not "unknown kind": say so once, with the way out.
      throw new Error(
        `cannot reach the CRD schema catalog at ${crds} (${err instanceof Error ? err.message : String(err)}); pass --schemas <folder> for an offline copy`,
      );
    }
    if (!res.ok) return { where: url };
    const text = await res.text();
    mkdirSync(dirname(cached), { recursive: true });
    writeFileSync(cached, text);
    return { text, where: url };
  }
}

/** Bump when the compile options change: cached validators from older options are then ignored. */
const AJV_CACHE_VERSION = "ajv-8.20.0/draft-04/allErrors/no-formats/1";

const requireFromHere = createRequire(import.meta.url);

// CommonJS module: under NodeNext its function may sit on `default`.
type StandaloneCode = typeof standaloneModule.default;
const standaloneCode: StandaloneCode =
  (standaloneModule as unknown as { default?: StandaloneCode }).default ??
  (standaloneModule as unknown as StandaloneCode);

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Parses a schema without its `$schema` marker: the built-in files claim draft 2020-12 but use
 * nothing beyond draft 4 except `$defs` as a container, which plain JSON-pointer refs resolve.
 */
function parseSchema(text: string): object {
  const json = JSON.parse(text) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

function readJson(file: string): unknown {
  return parseSchema(readFileSync(file, "utf8"));
}

/** Ajv's instancePath (`/spec/containers/0/image`) as path segments. */
export function instancePathSegments(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export interface SchemaProblem {
  path: (string | number)[];
  message: string;
  /** The mistake is the key itself (unknown field). */
  atKey: boolean;
}

/**
 * Turns ajv's errors into a few readable problems: one per path, unknown fields named, and the
 * branch noise of oneOf/anyOf dropped (their sub-errors say more).
 */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    if (e.keyword === "oneOf" || e.keyword === "anyOf" || e.keyword === "if") continue;
    let path = instancePathSegments(e.instancePath);
    let message = e.message ?? "is invalid";
    let atKey = false;
    if (e.keyword === "additionalProperties") {
      const extra = String((e.params as { additionalProperty?: string }).additionalProperty);
      path = [...path, extra];
      message = `unknown field "${extra}"`;
      atKey = true;
    } else if (e.keyword === "required") {
      message = `missing required field "${String((e.params as { missingProperty?: string }).missingProperty)}"`;
    } else if (e.keyword === "enum") {
      const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues ?? [];
      message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    const key = `${path.join(".")}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message, atKey });
  }
  return out;
}
