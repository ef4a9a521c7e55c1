#!/usr/bin/env node
// Launcher. The CLI is TypeScript with no build step between an edit and a run: the first run
// after an edit bundles the sources (bundle.js), every other run starts from that bundle, in this
// process, with the code V8 compiled for it last time. KTSW_FROM_SOURCE=1 runs the sources through tsx instead (stack traces point into them).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { buildBundle, entry, freshBundle, runBundle } from "./bundle.js";

if (process.env.KTSW_FROM_SOURCE === "1") {
  const tsxCli = createRequire(import.meta.url).resolve("tsx/cli");
  const result = spawnSync(process.execPath, [tsxCli, entry, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}
runBundle(freshBundle() ?? (await buildBundle()));
