// `ktsw secrets` as a person runs it, each test in its own scratch repository (ktsw.yaml, and
// .sops.yaml unless the test is about its absence), removed after the test.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";

const repo = resolve(import.meta.dirname, "../../../..");
const exampleKey = join(repo, "test-support/example-age.key");

const scratch: string[] = [];
function scratchRepo(opts: { sopsConfig: boolean } = { sopsConfig: true }): string {
  const work = mkdtempSync(join(tmpdir(), "ktsw-secrets-cli-"));
  scratch.push(work);
  cpSync(join(repo, "ktsw.yaml"), join(work, "ktsw.yaml"));
  if (opts.sopsConfig) cpSync(join(repo, ".sops.yaml"), join(work, ".sops.yaml"));
  return work;
}
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function ktsw(work: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(repo, "packages/ktsw/src/cli.ts"), "-c", join(work, "ktsw.yaml"), ...args],
      { cwd: repo, env: { ...process.env, NO_COLOR: "1", SOPS_AGE_KEY_FILE: "" } },
      (err, stdout, stderr) => done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("ktsw secrets (CLI)", () => {
  test("init creates a key once and prints its recipient; a second init keeps it", async () => {
    const work = scratchRepo();
    const keyFile = join(work, "keys", "age.txt");
    const first = await ktsw(work, "secrets", "init", "--key-file", keyFile);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(keyFile)).toBe(true);
    const recipient = /public recipient: (age1[0-9a-z]+)/.exec(first.stdout)?.[1];
    expect(recipient).toBeDefined();
    expect(first.stdout).toContain("create secret generic sops-age");
    const second = await ktsw(work, "secrets", "init", "--key-file", keyFile);
    expect(second.stdout).toContain("already exists");
    expect(second.stdout).toContain(`public recipient: ${recipient}`);
  });

  test("a plaintext file fails check at its first line; encrypt, check and decrypt then succeed", async () => {
    const work = scratchRepo();
    mkdirSync(join(work, "kubernetes"), { recursive: true });
    const file = join(work, "kubernetes", "app.sops.yaml");
    writeFileSync(
      file,
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: app\nstringData:\n  token: s3cret\n",
    );
    const plaintextCheck = await ktsw(work, "secrets", "check");
    expect(plaintextCheck.code).toBe(1);
    expect(plaintextCheck.stderr).toContain("kubernetes/app.sops.yaml:1:1 not SOPS-encrypted");

    const enc = await ktsw(work, "secrets", "encrypt", file);
    expect(enc.code, enc.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toMatch(/token: ENC\[AES256_GCM/);
    expect((await ktsw(work, "secrets", "encrypt", file)).stdout).toContain("already encrypted");

    const check = await ktsw(work, "secrets", "check", "--decrypt-with", exampleKey);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain("1 SOPS file checked and decrypted, 0 problems");

    const dec = await ktsw(work, "secrets", "decrypt", file, "--key-file", exampleKey);
    expect(dec.code, dec.stderr).toBe(0);
    expect(dec.stdout).toContain("token: s3cret");
  });

  test("without .sops.yaml, check names the file and `secrets init`; init writes it and check passes", async () => {
    const work = scratchRepo({ sopsConfig: false });
    const missing = await ktsw(work, "secrets", "check");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/✗ \.sops\.yaml missing: .*`ktsw secrets init`/);

    const init = await ktsw(work, "secrets", "init", "--key-file", join(work, "keys", "age.txt"));
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain("wrote .sops.yaml");
    const check = await ktsw(work, "secrets", "check");
    expect(check.code, check.stderr).toBe(0);
  });

  test("encrypt refuses a file that the .sops.yaml rule would not match", async () => {
    const work = scratchRepo();
    const file = join(work, "plain.yaml");
    writeFileSync(file, "a: 1\n");
    const res = await ktsw(work, "secrets", "encrypt", file);
    expect(res.code).toBe(2);
    expect(readFileSync(file, "utf8")).toBe("a: 1\n");
  });
});
