// `ktsw render --check` over a temporary copy of the repository: clean when the rendered files are
// current, and naming the file when one of them went stale or missing.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runRender } from "../../src/commands/render.ts";
import { renderAll } from "../../src/render/index.ts";
import { k3sConfigPath, userDataPath } from "../../src/render/nodes/index.ts";
import { tfvarsPath } from "../../src/render/proxmox/tfvars.ts";
import { exampleConfig, repoRoot } from "./support.ts";

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** ktsw.yaml plus everything rendered from it, in a fresh folder that plays the repository root. */
async function repoCopy(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "ktsw-render-check-"));
  temps.push(dir);
  writeFileSync(join(dir, "ktsw.yaml"), readFileSync(join(repoRoot, "ktsw.yaml")));
  for (const [path, content] of Object.entries(renderAll(await exampleConfig()))) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Runs the command and keeps what it printed to stderr (the list of out-of-date files). */
async function check(dir: string): Promise<{ code: number; stderr: string }> {
  const chunks: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await runRender({ config: join(dir, "ktsw.yaml"), check: true });
    return { code, stderr: chunks.join("") };
  } finally {
    process.stderr.write = write;
  }
}

describe("render --check", () => {
  test("is clean on a fresh render and reports a stale node file by path", async () => {
    const dir = await repoCopy();
    expect((await check(dir)).code).toBe(0);

    const c = await exampleConfig();
    const node = c.nodes[c.nodes.length - 1]?.name as string;
    const stale = join(dir, k3sConfigPath(node));
    writeFileSync(
      stale,
      readFileSync(stale, "utf8").replace("protect-kernel-defaults: true", "protect-kernel-defaults: false"),
    );
    const r = await check(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`stale   ${k3sConfigPath(node)}`);
    expect(r.stderr).not.toContain(userDataPath(node));
  });

  test("reports a missing tfvars file and a config change that makes committed files stale", async () => {
    const dir = await repoCopy();
    rmSync(join(dir, tfvarsPath));
    const missing = await check(dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`missing ${tfvarsPath}`);

    const fresh = await repoCopy();
    const yaml = readFileSync(join(fresh, "ktsw.yaml"), "utf8");
    const c = await exampleConfig();
    writeFileSync(join(fresh, "ktsw.yaml"), yaml.replace(c.kubernetes.k3sVersion, "v1.33.6+k3s1"));
    const changed = await check(fresh);
    expect(changed.code).toBe(1);
    for (const n of c.nodes) expect(changed.stderr).toContain(`stale   ${userDataPath(n.name)}`);
  });
});

describe("rendering everything is deterministic", () => {
  test("renderAll twice gives identical files, in a stable order", async () => {
    const c = await exampleConfig();
    const first = renderAll(c);
    const second = renderAll(structuredClone(c));
    expect(second).toEqual(first);
    expect(Object.keys(second)).toEqual(Object.keys(first));
  });
});
