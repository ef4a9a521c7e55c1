// Debian's real cloud-init (22.4, the version a Debian 12 template boots) validates every rendered
// user-data against its schema: a key in the wrong place fails here instead of being silently
// ignored on first boot.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { renderNodes } from "../../src/render/nodes/index.ts";
import { k3sAgentTokenPlaceholder, k3sTokenPlaceholder } from "../../src/render/nodes/token.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { allValidConfigs, exampleConfig } from "./support.ts";

const cloudInit = findTool("cloud-init");
if (!cloudInit) console.warn(`⚠ skipping the cloud-init schema check: ${missingToolMessage("cloud-init")}`);

const dir = mkdtempSync(join(tmpdir(), "ktsw-cloud-init-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function schemaCheck(name: string, content: string) {
  const file = join(dir, name.replaceAll("/", "_"));
  writeFileSync(file, content);
  const r = spawnSync(cloudInit as string, ["schema", "--config-file", file], { encoding: "utf8" });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!cloudInit)("cloud-init schema", () => {
  // ~20 cloud-init processes (Python start-up each): allow for a busy machine.
  test("accepts every rendered user-data file of every valid config", { timeout: 180_000 }, async () => {
    let checked = 0;
    // The example once more as after the first bootstrap: tokens in k3s' secure K10 form.
    const example = structuredClone(await exampleConfig());
    example.kubernetes.clusterCaHash = "0123456789abcdef".repeat(4);
    for (const [configName, c] of [...(await allValidConfigs()), ["ktsw.yaml with clusterCaHash", example] as const]) {
      for (const [path, content] of Object.entries(renderNodes(c))) {
        if (!path.endsWith("/user-data.yaml")) continue;
        // As committed, and as OpenTofu uploads it (placeholders replaced by the tokens).
        const uploaded = content
          .replaceAll(k3sTokenPlaceholder, "0123456789abcdef".repeat(4))
          .replaceAll(k3sAgentTokenPlaceholder, "fedcba9876543210".repeat(4));
        for (const [variant, text] of [
          ["committed", content],
          ["uploaded", uploaded],
        ] as const) {
          const r = schemaCheck(`${configName}-${variant}-${path}`, text);
          expect(r.output, `${configName}: ${path} (${variant})`).toContain("Valid cloud-config");
          expect(r.code, `${configName}: ${path} (${variant})\n${r.output}`).toBe(0);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  test("rejects a user-data file with a mistyped module setting (the check has teeth)", async () => {
    const [[, c]] = (await allValidConfigs()) as [[string, Parameters<typeof renderNodes>[0]]];
    const [path, content] = Object.entries(renderNodes(c)).find(([p]) => p.endsWith("/user-data.yaml")) ?? [];
    const broken = (content as string).replace("ssh_pwauth: false", "ssh_pwauth: [false]");
    expect(broken).not.toBe(content);
    const r = schemaCheck(`broken-${path}`, broken);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("ssh_pwauth");
  });
});
