// ShellCheck (Debian's package) lints the first-boot install script of every node of every valid
// config: quoting and portability slips in a script that only ever runs on a fresh VM are cheap to
// catch here and expensive to debug over a serial console.
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { renderNodes } from "../../src/render/nodes/index.ts";
import { installScriptPath } from "../../src/render/nodes/install-script.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { allValidConfigs } from "./support.ts";

const shellcheck = findTool("shellcheck");
if (!shellcheck) console.warn(`⚠ skipping the install-script lint: ${missingToolMessage("shellcheck")}`);

const lint = (script: string) =>
  spawnSync(shellcheck as string, ["--shell=sh", "--severity=style", "-"], { input: script, encoding: "utf8" });

describe.skipIf(!shellcheck)("shellcheck", () => {
  test("finds nothing in any rendered install script", async () => {
    let checked = 0;
    for (const [configName, c] of await allValidConfigs()) {
      for (const [path, content] of Object.entries(renderNodes(c))) {
        if (!path.endsWith("/user-data.yaml")) continue;
        const files = (parse(content) as { write_files: { path: string; content: string }[] }).write_files;
        const script = files.find((f) => f.path === installScriptPath)?.content;
        expect(script, path).toBeDefined();
        const r = lint(script as string);
        expect(r.stdout, `${configName}: ${path}`).toBe("");
        expect(r.status).toBe(0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  test("does flag a classic mistake, so a clean result means something", () => {
    const r = lint("#!/bin/sh\nfile=$1\nrm -f $file\n");
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("SC2086");
  });
});
