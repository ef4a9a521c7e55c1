// Real sops and age: the example key decrypts every committed *.sops.yaml, encryption round-trips
// through the repository's own .sops.yaml rules, and the checks point at the plaintext line.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load.ts";
import { checkEncryptedFile, checkSopsConfig, sopsConfigText } from "../../src/secrets/check.ts";
import { listSopsFiles } from "../../src/secrets/files.ts";
import { checkRepositorySops } from "../../src/secrets/repository.ts";
import { ageKeygen, ageRecipientOf, sopsDecrypt, sopsEncryptInPlace } from "../../src/secrets/sops.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const exampleKey = join(repo, "test-support/example-age.key");

// Each test gets its own scratch folder, removed after it: no test reads what another one wrote.
const scratch: string[] = [];
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ktsw-secrets-test-"));
  scratch.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function recipients(): Promise<string[]> {
  const { config } = await loadConfig(join(repo, "ktsw.yaml"));
  return config?.secrets.ageRecipients ?? [];
}

describe("committed SOPS files", () => {
  test("the example age key is the recipient ktsw.yaml lists", async () => {
    expect(await recipients()).toContain(await ageRecipientOf(exampleKey));
  });

  test("sops -d with the example key decrypts every *.sops.yaml to plaintext values", async () => {
    const files = await listSopsFiles(repo);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const res = await sopsDecrypt(repo, file, exampleKey);
      expect(res.code, `${file}: ${res.stderr}`).toBe(0);
      const plain = parse(res.stdout) as Record<string, Record<string, string>>;
      expect(plain.sops).toBeUndefined();
      const values = Object.values({ ...plain.data, ...plain.stringData });
      expect(values.length).toBeGreaterThan(0);
      for (const v of values) expect(v).not.toMatch(/^ENC\[/);
    }
  });

  test("every committed file and .sops.yaml pass the checks", async () => {
    const want = await recipients();
    expect(checkSopsConfig(".sops.yaml", readFileSync(join(repo, ".sops.yaml"), "utf8"), want)).toEqual([]);
    for (const file of await listSopsFiles(repo))
      expect(checkEncryptedFile(file, readFileSync(join(repo, file), "utf8"), want)).toEqual([]);
  });
});

describe("encrypt -> check -> decrypt round trip with the repository's rules", () => {
  const plaintext =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: demo\n  namespace: demo\nstringData:\n  password: hunter2\n";

  test("a plaintext *.sops.yaml is reported at its value's line", async () => {
    const findings = checkEncryptedFile("demo.sops.yaml", plaintext, await recipients());
    expect(findings.map((f) => f.line)).toContain(1);
    const encryptedSecretDoc = plaintext.replace(
      "stringData:\n  password: hunter2\n",
      "stringData:\n  password: hunter2\nsops:\n  mac: x\n  age: []\n",
    );
    const value = checkEncryptedFile("demo.sops.yaml", encryptedSecretDoc, await recipients()).find(
      (f) => f.path === "stringData.password",
    );
    expect(value?.line).toBe(7);
  });

  /** A scratch repository holding .sops.yaml and demo.sops.yaml encrypted with its rules. */
  async function encryptedDemo(): Promise<{ dir: string; file: string }> {
    const dir = scratchDir();
    copyFileSync(join(repo, ".sops.yaml"), join(dir, ".sops.yaml"));
    const file = join(dir, "demo.sops.yaml");
    writeFileSync(file, plaintext);
    const enc = await sopsEncryptInPlace(dir, file);
    expect(enc.code, enc.stderr).toBe(0);
    return { dir, file };
  }

  test("sops encrypts with .sops.yaml, values become ENC[...], keys stay readable, decrypt restores them", async () => {
    const { dir, file } = await encryptedDemo();
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/password: ENC\[AES256_GCM,/);
    expect(text).toMatch(/name: demo/);
    expect(checkEncryptedFile("demo.sops.yaml", text, await recipients())).toEqual([]);
    const dec = await sopsDecrypt(dir, file, exampleKey);
    expect((parse(dec.stdout) as { stringData: { password: string } }).stringData.password).toBe("hunter2");
  });

  test("a key that is not a recipient cannot decrypt, and a wrong .sops.yaml recipient is reported", async () => {
    const { dir, file } = await encryptedDemo();
    const otherKey = join(dir, "other.key");
    const recipient = await ageKeygen(otherKey);
    expect(recipient).toMatch(/^age1[0-9a-z]{58}$/);
    // The file is there and decryptable, so the other key's failure is about the key, not the file.
    expect(existsSync(file)).toBe(true);
    expect((await sopsDecrypt(dir, file, exampleKey)).code).toBe(0);
    const dec = await sopsDecrypt(dir, file, otherKey);
    expect(dec.code).not.toBe(0);
    expect(dec.stderr).not.toMatch(/no such file/i);
    const wrong = checkSopsConfig(".sops.yaml", readFileSync(join(repo, ".sops.yaml"), "utf8"), [recipient]);
    expect(wrong.map((f) => f.rule)).toEqual(["secrets.sops-config"]);
    expect(wrong[0]?.line).toBeGreaterThan(0);
  });
});

describe(".sops.yaml: one check for `ktsw secrets check` and `ktsw validate`", () => {
  test("a missing .sops.yaml is a finding that names the file and how to create it", async () => {
    const dir = scratchDir();
    const { findings } = await checkRepositorySops(dir, await recipients());
    expect(findings).toEqual([
      expect.objectContaining({ file: ".sops.yaml", rule: "secrets.sops-config", severity: "error" }),
    ]);
    expect(findings[0]?.message).toContain("ktsw secrets init");
  });

  test("the .sops.yaml that secrets init writes passes the check, and sops encrypts with it", async () => {
    const want = await recipients();
    const dir = scratchDir();
    writeFileSync(join(dir, ".sops.yaml"), sopsConfigText(want));
    expect(checkSopsConfig(".sops.yaml", readFileSync(join(dir, ".sops.yaml"), "utf8"), want)).toEqual([]);
    const file = join(dir, "demo.sops.yaml");
    writeFileSync(file, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: demo\nstringData:\n  a: b\n");
    const enc = await sopsEncryptInPlace(dir, file);
    expect(enc.code, enc.stderr).toBe(0);
    expect((await checkRepositorySops(dir, want)).findings).toEqual([]);
  });
});
