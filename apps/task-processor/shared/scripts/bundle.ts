import { cp, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

// Bundles one service (and the migrate command) into plain ESM JavaScript for the container image:
// no TypeScript loader, no node_modules at run time. Usage: bundle.ts <gateway|worker|status> <outDir>
// Layout of <outDir>: dist/main.mjs, dist/migrate.mjs, dist/dashboard/ (status), migrations/*.sql.

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const service = process.argv[2];
const out = process.argv[3];
if (!service || !["gateway", "worker", "status"].includes(service) || !out) {
  console.error("usage: bundle.ts <gateway|worker|status> <outDir>");
  process.exit(2);
}

const common = {
  bundle: true,
  platform: "node" as const,
  target: "node20",
  format: "esm" as const,
  // CommonJS dependencies (pg, fastify's plugins) call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __ktswRequire } from 'node:module'; const require = __ktswRequire(import.meta.url);",
  },
  // pg's optional native binding is never installed.
  external: ["pg-native"],
  sourcemap: true,
  logLevel: "warning" as const,
};

await build({ ...common, entryPoints: [join(root, service, "src/main.ts")], outfile: join(out, "dist/main.mjs") });
await build({
  ...common,
  entryPoints: [join(root, "shared/src/migrate-cli.ts")],
  outfile: join(out, "dist/migrate.mjs"),
});
// db.ts finds its SQL at ../migrations relative to the module, which is now dist/main.mjs.
await mkdir(join(out, "migrations"), { recursive: true });
await cp(join(root, "shared/migrations"), join(out, "migrations"), { recursive: true });
// The dashboard's files, next to the module that serves them (status/src/dashboard.ts).
if (service === "status")
  await cp(join(root, "status/src/dashboard"), join(out, "dist/dashboard"), { recursive: true });
console.log(`bundled ${service} into ${out}`);
