// `ktsw secrets` as a person runs it, in a scratch repository (ktsw.yaml + .sops.yaml copied).
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, test } from "vitest";

const repo = resolve(import.meta.dirname, "../../../..");
const work = mkdtempSync(join(tmpdir(), "ktsw-secrets-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
cpSync(join(repo, "ktsw.yaml"), join(work, "ktsw.yaml"));
cpSync(join(repo, ".sops.yaml"), join(work, ".sops.yaml"));
const exampleKey = join(repo, "test-support/example-age.key");

function ktsw(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
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
    const keyFile = join(work, "keys", "age.txt");
    const first = await ktsw("secrets", "init", "--key-file", keyFile);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(keyFile)).toBe(true);
    const recipient = /public recipient: (age1[0-9a-z]+)/.exec(first.stdout)?.[1];
    expect(recipient).toBeDefined();
    expect(first.stdout).toContain("create secret generic sops-age");
    const second = await ktsw("secrets", "init", "--key-file", keyFile);
    expect(second.stdout).toContain("already exists");
    expect(second.stdout).toContain(`public recipient: ${recipient}`);
  });

  test("a plaintext file fails check at its first line; encrypt, check and decrypt then succeed", async () => {
    mkdirSync(join(work, "kubernetes"), { recursive: true });
    const file = join(work, "kubernetes", "app.sops.yaml");
    writeFileSync(
      file,
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: app\nstringData:\n  token: s3cret\n",
    );
    const plaintextCheck = await ktsw("secrets", "check");
    expect(plaintextCheck.code).toBe(1);
    expect(plaintextCheck.stderr).toContain("kubernetes/app.sops.yaml:1:1 not SOPS-encrypted");

    const enc = await ktsw("secrets", "encrypt", file);
    expect(enc.code, enc.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toMatch(/token: ENC\[AES256_GCM/);
    expect((await ktsw("secrets", "encrypt", file)).stdout).toContain("already encrypted");

    const check = await ktsw("secrets", "check", "--decrypt-with", exampleKey);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain("1 SOPS file checked and decrypted, 0 problems");

    const dec = await ktsw("secrets", "decrypt", file, "--key-file", exampleKey);
    expect(dec.code, dec.stderr).toBe(0);
    expect(dec.stdout).toContain("token: s3cret");
  });

  test("encrypt refuses a file that the .sops.yaml rule would not match", async () => {
    const file = join(work, "plain.yaml");
    writeFileSync(file, "a: 1\n");
    const res = await ktsw("secrets", "encrypt", file);
    expect(res.code).toBe(2);
    expect(readFileSync(file, "utf8")).toBe("a: 1\n");
  });
});
