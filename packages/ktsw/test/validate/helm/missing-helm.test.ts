// Without helm, `ktsw validate` cannot render the charts it has a cache for: it stops with exit 3
// (missing prerequisite) and the one tool-lookup message naming the pinned install step.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { findTool, missingToolMessage } from "../../../src/tools/find.ts";
import { defaultChartsDir } from "../../../src/validate/index.ts";
import { repo, schemaFlags } from "../../support/cli.ts";

const needed = ["kustomize", "gator", "sops"] as const;
const missing = needed.find((t) => !findTool(t));
const charts = defaultChartsDir(repo);
const why = missing ? missingToolMessage(missing) : !charts ? "no offline chart repository at ../shared/charts" : "";
if (why) console.warn(`SKIPPING the missing-helm test: ${why}`);

test.skipIf(why !== "")("no helm: exit 3 and the install step from deps/go-tools.txt", async () => {
  // A PATH with every other tool validate runs, but no helm, and no Go bin folder to fall back to.
  const bin = mkdtempSync(join(tmpdir(), "ktsw-nohelm-"));
  try {
    for (const t of needed) symlinkSync(findTool(t) as string, join(bin, t));
    const env = { ...process.env, PATH: `${bin}:/usr/bin:/bin`, GOPATH: join(bin, "no-go"), NO_COLOR: "1" };
    const res = await new Promise<{ code: number; stderr: string }>((done) =>
      execFile(
        process.execPath,
        ["--import", "tsx", join(repo, "packages/ktsw/src/cli.ts"), "validate", "--no-policies", ...schemaFlags()],
        { cwd: repo, env, maxBuffer: 64 * 1024 * 1024 },
        (err, _out, stderr) => done({ code: err ? Number(err.code ?? 1) : 0, stderr }),
      ),
    );
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toMatch(/helm not found \(looked in PATH/);
    expect(res.stderr).toContain("go install helm.sh/helm/v3/cmd/helm@v3.22.0");
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
