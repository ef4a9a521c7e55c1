// Regenerates the OPNsense model description the payload tests validate against:
//   tsx packages/ktsw/src/render/router/opnsense-model/update.ts <core git dir> <plugins git dir> <out.json>
// Each git dir is a clone of the repository in `upstream` (bare is fine); the models are read at
// the pinned tags with `git show`, so the working tree's state does not matter.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { deriveDescription } from "./derive.ts";
import { endpointSources, upstream } from "./endpoints.ts";

const [coreDir, pluginsDir, out] = process.argv.slice(2);
if (!coreDir || !pluginsDir || !out) {
  console.error("usage: update.ts <opnsense/core git dir> <opnsense/plugins git dir> <out.json>");
  process.exit(2);
}
const dirs = { core: coreDir, plugins: pluginsDir };
const git = (repo: "core" | "plugins", ...args: string[]) =>
  execFileSync("git", ["--git-dir", dirs[repo], ...args], { encoding: "utf8" });

const texts: Record<string, string> = {};
for (const source of Object.values(endpointSources)) {
  if (source)
    texts[`${source.repo}:${source.model}`] = git(source.repo, "show", `${upstream[source.repo].tag}:${source.model}`);
}
const pins = Object.fromEntries(
  (["core", "plugins"] as const).map((r) => [
    r,
    { repo: upstream[r].repo, tag: upstream[r].tag, commit: git(r, "rev-list", "-n", "1", upstream[r].tag).trim() },
  ]),
);
// The os-frr package version the plugin models belong to (its Makefile's PLUGIN_VERSION).
const frrMakefile = git("plugins", "show", `${upstream.plugins.tag}:${upstream.plugins.plugin}/Makefile`);
Object.assign(pins.plugins ?? {}, {
  plugin: `os-${upstream.plugins.plugin.split("/")[1]}`,
  pluginVersion: /PLUGIN_VERSION=\s*(\S+)/.exec(frrMakefile)?.[1] ?? "unknown",
});
writeFileSync(out, `${JSON.stringify(deriveDescription(texts, pins), null, 2)}\n`);
console.log(`wrote ${out}`);
