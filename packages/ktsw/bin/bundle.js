// The CLI's sources bundled into one file, made again whenever one of them changed. Loading ~200
// TypeScript modules through tsx's loader costs seconds on every run; one plain JavaScript file
// costs a fraction of that. The bundle is made by esbuild, the engine tsx itself transforms with.
// It is a CommonJS script, not a module, so that V8 can keep its compiled code between runs
// (runBundle): Node 20 keeps no code cache for modules of its own.
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { constants, Script } from "node:vm";

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const entry = join(pkg, "src", "cli.ts");
const out = join(pkg, ".cache", "cli.cjs");
/** V8's compiled code of the bundle, one entry per verb: each holds what its verb's runs compile. */
const codeCache = (verb) => `${out}.${/^[a-z][a-z-]*$/.test(verb ?? "") ? verb : "other"}.v8-cache`;
/** Each source the bundle was made from, with its size and modification time then. */
const inputsFile = join(pkg, ".cache", "cli.inputs.json");

const stamp = (file) => {
  const s = statSync(file, { throwIfNoEntry: false });
  return s ? `${s.size}:${s.mtimeMs}` : "missing";
};

/** The bundle when every source it was made from is unchanged, else undefined. */
export function freshBundle() {
  if (!existsSync(out) || !existsSync(inputsFile)) return undefined;
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(inputsFile, "utf8"));
  } catch {
    return undefined; // unreadable: bundle again
  }
  return Object.entries(inputs).every(([file, was]) => stamp(file) === was) ? out : undefined;
}

/**
 * Bundles src/cli.ts with everything it imports, its packages too (yaml, ajv, zod, commander...): Node
 * resolves and compiles each module file of a package on its own, which cost about 0.1 s of every
 * run. A module that finds files beside itself (`import.meta.url`) is given its own source location, so
 * it finds them from the bundle too. Written under other names and renamed: a run starting
 * meanwhile sees the old bundle or the new one, never half of one.
 */
export async function buildBundle() {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    outfile: out,
    write: false,
    metafile: true,
    logLevel: "error",
    plugins: [
      {
        name: "own-location",
        setup(build) {
          build.onLoad({ filter: /\.ts$/ }, (args) => {
            const url = pathToFileURL(args.path).href;
            const text = readFileSync(args.path, "utf8")
              .replaceAll("import.meta.url", JSON.stringify(url))
              .replaceAll("import.meta.dirname", JSON.stringify(dirname(args.path)))
              .replaceAll("import.meta.filename", JSON.stringify(args.path));
            return { contents: text, loader: "ts" };
          });
        },
      },
    ],
  });
  const inputs = Object.fromEntries(
    Object.keys(result.metafile.inputs).map((f) => {
      const file = resolve(f);
      return [file, stamp(file)];
    }),
  );
  mkdirSync(dirname(out), { recursive: true });
  const [file] = result.outputFiles;
  writeFileSync(`${out}.${process.pid}`, file.contents);
  renameSync(`${out}.${process.pid}`, out);
  writeFileSync(`${inputsFile}.${process.pid}`, JSON.stringify(inputs));
  renameSync(`${inputsFile}.${process.pid}`, inputsFile);
  return out;
}

/**
 * Runs the bundle as Node runs a CommonJS file, compiled with the code V8 kept from an earlier run of this same
 * bundle and verb (`validate` compiles other functions than `render`). V8 itself checks kept code only against its own version and flags and the source's length, so the
 * entry names the bundle it was made from (inode, size, modification time: a new bundle is a new file, renamed
 * into place) and is used for that one only. When there is none, or V8 refuses it, the code is kept when this
 * run ends, so that it holds every function the run compiled (V8 compiles most functions only when first
 * called). Written under another name and renamed, like the bundle.
 */
export function runBundle(file, verb = process.argv[2]) {
  const entryFile = codeCache(verb);
  const fd = openSync(file, "r");
  let source;
  let identity;
  try {
    const s = fstatSync(fd);
    identity = `${s.ino}:${s.size}:${s.mtimeMs}`;
    source = readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
  const cached = keptCode(entryFile, identity);
  const script = new Script(Module.wrap(source), {
    filename: file,
    ...(cached ? { cachedData: cached } : {}),
    // A dynamic import() inside the bundle (of a package it leaves out) resolves as it would from the file.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (!cached || script.cachedDataRejected)
    process.once("exit", () => {
      try {
        const header = Buffer.from(`${identity}\n`);
        writeFileSync(`${entryFile}.${process.pid}`, Buffer.concat([header, script.createCachedData()]));
        renameSync(`${entryFile}.${process.pid}`, entryFile);
      } catch {
        // not kept (a read-only checkout): the next run compiles again
      }
    });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
}

/** The kept code, when it was made from the bundle with this identity. */
function keptCode(entryFile, identity) {
  if (!existsSync(entryFile)) return undefined;
  const kept = readFileSync(entryFile);
  const newline = kept.indexOf(10);
  return newline > 0 && kept.subarray(0, newline).toString() === identity ? kept.subarray(newline + 1) : undefined;
}
