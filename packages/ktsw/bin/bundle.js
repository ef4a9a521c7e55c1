// The CLI's sources bundled into one file, made again whenever one of them changed. Loading ~200
// TypeScript modules through tsx's loader costs seconds on every run; one plain JavaScript file
// costs a fraction of that. The bundle is made by esbuild, the engine tsx itself transforms with.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const entry = join(pkg, "src", "cli.ts");
const out = join(pkg, ".cache", "cli.mjs");
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
 * run. Bundled packages that are CommonJS call `require` for Node's built-ins: the banner gives the
 * bundle one. A
 * module that finds files beside itself (`import.meta.url`) is given its own source location, so
 * it finds them from the bundle too. Written under other names and renamed: a run starting
 * meanwhile sees the old bundle or the new one, never half of one.
 */
export async function buildBundle() {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    banner: {
      js: 'import { createRequire as ktswCreateRequire } from "node:module"; const require = ktswCreateRequire(import.meta.url);',
    },
    platform: "node",
    format: "esm",
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
