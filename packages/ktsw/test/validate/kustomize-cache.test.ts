// Kustomize builds kept between runs, keyed by the files of their source: an unchanged source is
// read back without building, and any change to a file Git would sync builds again.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { type BuildCache, kustomizeBuildAll } from "../../src/validate/kustomize.ts";
import { folderDigest, gitSourceDigest } from "../../src/validate/source-digest.ts";

const kustomize = findTool("kustomize") ?? findTool("kubectl");
if (!kustomize) console.warn(`SKIPPING the kustomize build cache tests: ${missingToolMessage("kustomize")}`);

let repo: string;
let cacheDir: string;
const write = (file: string, text: string) => writeFileSync(join(repo, file), text);
const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), "ktsw-build-cache-"));
  cacheDir = join(repo, ".cache", "builds");
  execFileSync("git", ["init", "-q", repo]);
  write(".gitignore", ".cache/\nlocal-*\n");
  write("kustomization.yaml", "resources:\n  - cm.yaml\n");
  write("cm.yaml", configMap("app", "one"));
  execFileSync("git", ["-C", repo, "add", "."]);
});

afterEach(() => {
  rmSync(repo, { recursive: true, force: true });
});

const cache = (): BuildCache => ({ dir: cacheDir, sourceDigestOf: () => gitSourceDigest(repo) });
const builtData = async () => (await kustomizeBuildAll([repo], cache()))[0]?.objects[0]?.data;

describe.skipIf(!kustomize)("kustomize builds kept between runs", () => {
  test("an unchanged source is read back from the cache, not built", async () => {
    expect(await builtData()).toEqual({ value: "one" });
    const [entry] = readdirSync(cacheDir);
    expect(entry).toMatch(/\.json$/);
    // What comes back is the kept entry itself: changed behind its back, the change shows.
    writeFileSync(join(cacheDir, entry as string), JSON.stringify([{ kind: "ConfigMap", data: { value: "kept" } }]));
    expect(await builtData()).toEqual({ value: "kept" });
  });

  test("an edited, a new untracked and a deleted file each build again; an ignored file does not", async () => {
    const digests = [gitSourceDigest(repo)];
    expect(await builtData()).toEqual({ value: "one" });
    write("cm.yaml", configMap("app", "two"));
    expect(await builtData()).toEqual({ value: "two" });
    digests.push(gitSourceDigest(repo));
    write("other.yaml", configMap("other", "x"));
    digests.push(gitSourceDigest(repo));
    rmSync(join(repo, "other.yaml"));
    write("local-notes.txt", "ignored by Git, so never synced by Flux either");
    expect(gitSourceDigest(repo)).toBe(digests[1]);
    expect(new Set(digests).size).toBe(3);
    expect(await builtData()).toEqual({ value: "two" });
  });

  test("the same folder with other Flux fields is another entry", async () => {
    const [plain, prefixed] = await kustomizeBuildAll([repo, { dir: repo, opts: { namePrefix: "p-" } }], cache());
    expect(plain?.objects[0]?.metadata).toEqual({ name: "app" });
    expect(prefixed?.objects[0]?.metadata).toEqual({ name: "p-app" });
    expect(readdirSync(cacheDir)).toHaveLength(2);
  });

  test("a failed build is never kept", async () => {
    write("kustomization.yaml", "resources:\n  - missing.yaml\n");
    const [r] = await kustomizeBuildAll([repo], cache());
    expect(r?.error).toBeTruthy();
    expect(() => readdirSync(cacheDir)).toThrow();
  });

  test("outside Git there is no key (always built); an offline copy keys by every file under it", () => {
    const plain = mkdtempSync(join(tmpdir(), "ktsw-no-git-"));
    try {
      writeFileSync(join(plain, "a.yaml"), "a: 1\n");
      const before = folderDigest(plain);
      expect(before).toMatch(/^[0-9a-f]{64}$/);
      writeFileSync(join(plain, "a.yaml"), "a: 2\n");
      expect(folderDigest(plain)).not.toBe(before);
      expect(gitSourceDigest(plain)).toBeUndefined();
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });
});
