// OPA capabilities for the policies' unit tests: the OPA release's own builtins plus `external_data`, the builtin
// Gatekeeper adds for external data providers (k8ssignedimages asks Ratify through it). Plain `opa test` does not
// know it and refuses to compile such a policy; declared here, the tests replace it with `with external_data as …`.
//   npx tsx packages/ktsw/src/policy/capabilities.ts   writes the file and prints its path
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { requireTool } from "../tools/find.ts";

/** Gatekeeper's declaration: any request object in, any response object out. */
export const EXTERNAL_DATA_BUILTIN = {
  name: "external_data",
  decl: { type: "function", args: [{ type: "any" }], result: { type: "any" } },
} as const;

/** `current` (the JSON of `opa capabilities --current`) with Gatekeeper's builtins added (pure). */
export function withGatekeeperBuiltins(current: string): string {
  const caps = JSON.parse(current) as { builtins?: { name: string }[] };
  const builtins = (caps.builtins ?? []).filter((b) => b.name !== EXTERNAL_DATA_BUILTIN.name);
  return JSON.stringify({ ...caps, builtins: [...builtins, EXTERNAL_DATA_BUILTIN] });
}

/** Writes the capabilities file for `opa` into a new temp folder and returns its path. */
export function writeGatekeeperCapabilities(opa: string = requireTool("opa")): string {
  const current = execFileSync(opa, ["capabilities", "--current"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const file = join(mkdtempSync(join(tmpdir(), "ktsw-opa-caps-")), "capabilities.json");
  writeFileSync(file, withGatekeeperBuiltins(current));
  return file;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) console.log(writeGatekeeperCapabilities());
