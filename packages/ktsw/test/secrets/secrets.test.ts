// Real sops and age: the example key decrypts every committed *.sops.yaml, encryption round-trips
// through the repository's own .sops.yaml rules, and the checks point at the plaintext line.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load.ts";
import { checkEncryptedFile, checkSopsConfig } from "../../src/secrets/check.ts";
import { listSopsFiles } from "../../src/secrets/files.ts";
import { ageKeygen, ageRecipientOf, sopsDecrypt, sopsEncryptInPlace } from "../../src/secrets/sops.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const exampleKey = join(repo, "test-support/example-age.key");
const tmp = mkdtempSync(join(tmpdir(), "ktsw-secrets-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

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

  test("sops encrypts with .sops.yaml, values become ENC[...], keys stay readable, decrypt restores them", async () => {
    copyFileSync(join(repo, ".sops.yaml"), join(tmp, ".sops.yaml"));
    const file = join(tmp, "demo.sops.yaml");
    writeFileSync(file, plaintext);
    const enc = await sopsEncryptInPlace(tmp, file);
    expect(enc.code, enc.stderr).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/password: ENC\[AES256_GCM,/);
    expect(text).toMatch(/name: demo/);
    expect(checkEncryptedFile("demo.sops.yaml", text, await recipients())).toEqual([]);
    const dec = await sopsDecrypt(tmp, file, exampleKey);
    expect((parse(dec.stdout) as { stringData: { password: string } }).stringData.password).toBe("hunter2");
  });

  test("a key that is not a recipient cannot decrypt, and a wrong .sops.yaml recipient is reported", async () => {
    const otherKey = join(tmp, "other.key");
    const recipient = await ageKeygen(otherKey);
    expect(recipient).toMatch(/^age1[0-9a-z]{58}$/);
    const file = join(tmp, "demo.sops.yaml");
    const dec = await sopsDecrypt(tmp, file, otherKey);
    expect(dec.code).not.toBe(0);
    const wrong = checkSopsConfig(".sops.yaml", readFileSync(join(repo, ".sops.yaml"), "utf8"), [recipient]);
    expect(wrong.map((f) => f.rule)).toEqual(["secrets.sops-config"]);
    expect(wrong[0]?.line).toBeGreaterThan(0);
  });
});
