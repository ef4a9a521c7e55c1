#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript run through tsx, so no build step stands between an edit and a run.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const tsxCli = require.resolve("tsx/cli");
const entry = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.ts");
const result = spawnSync(process.execPath, [tsxCli, entry, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(result.status ?? 1);
