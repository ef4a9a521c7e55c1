// `ktsw secrets`: the age key and SOPS files, driven through the real sops and age-keygen.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../config/load.ts";
import { finding, hasErrors } from "../diagnostics.ts";
import { SOPS_CONFIG_FILE, sopsConfigText } from "../secrets/check.ts";
import { checkRepositorySops } from "../secrets/repository.ts";
import { ageKeygen, ageRecipientOf, sopsDecrypt, sopsEncryptInPlace } from "../secrets/sops.ts";
import { requireTool } from "../tools/find.ts";
import { exitCodes, type GlobalOptions, printFindings, repoRoot, summary } from "./shared.ts";

/** Where sops looks for age keys by default. */
export function defaultKeyFile(): string {
  return process.env.SOPS_AGE_KEY_FILE || join(homedir(), ".config", "sops", "age", "keys.txt");
}

async function recipientsFromConfig(configPath: string): Promise<string[] | undefined> {
  const { config, findings } = await loadConfig(configPath);
  if (!config) {
    printFindings(findings);
    return undefined;
  }
  return config.secrets.ageRecipients;
}

/** Writes .sops.yaml from ktsw.yaml's recipients when the repository has none; false if ktsw.yaml is invalid. */
async function writeSopsConfigIfMissing(configPath: string): Promise<boolean> {
  const file = join(repoRoot(configPath), SOPS_CONFIG_FILE);
  if (existsSync(file)) return true;
  const recipients = await recipientsFromConfig(configPath);
  if (!recipients) return false;
  writeFileSync(file, sopsConfigText(recipients));
  process.stdout.write(
    `wrote ${SOPS_CONFIG_FILE}: *.sops.yaml files are encrypted to ktsw.yaml's secrets.ageRecipients\n`,
  );
  return true;
}

export async function runSecretsCheck(opts: GlobalOptions, decryptWith?: string): Promise<number> {
  const root = repoRoot(opts.config);
  const recipients = await recipientsFromConfig(opts.config);
  if (!recipients) return exitCodes.findings;
  const { files, findings } = await checkRepositorySops(root, recipients);
  if (decryptWith) {
    for (const file of files) {
      const res = await sopsDecrypt(root, file, decryptWith);
      if (res.code !== 0)
        findings.push(
          finding(
            { file },
            `sops cannot decrypt it with ${decryptWith}: ${res.stderr.trim().split("\n")[0]}`,
            "secrets.decrypt",
          ),
        );
    }
  }
  printFindings(findings);
  summary(
    !hasErrors(findings),
    `secrets: ${files.length} SOPS file${files.length === 1 ? "" : "s"} checked${decryptWith ? " and decrypted" : ""}, ${findings.length} problem${findings.length === 1 ? "" : "s"}`,
  );
  return hasErrors(findings) ? exitCodes.findings : exitCodes.ok;
}

export function registerSecrets(program: Command): void {
  const secrets = program
    .command("secrets")
    .description("age key and SOPS-encrypted files (*.sops.yaml), with the real sops and age");
  const globals = () => program.opts<GlobalOptions>();

  secrets
    .command("init")
    .description(
      "create your age key (never committed) and .sops.yaml if missing; print the key's public recipient for ktsw.yaml",
    )
    .option("--key-file <file>", "where the private key lives", defaultKeyFile())
    .action(async (o: { keyFile: string }) => {
      try {
        const keyFile = resolve(o.keyFile);
        let recipient: string;
        if (existsSync(keyFile)) {
          recipient = await ageRecipientOf(keyFile);
          process.stdout.write(`age key already exists: ${keyFile}\n`);
        } else {
          mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
          recipient = await ageKeygen(keyFile);
          process.stdout.write(`created age key ${keyFile} (keep it out of Git; back it up)\n`);
        }
        if (!(await writeSopsConfigIfMissing(globals().config))) process.exitCode = exitCodes.findings;
        process.stdout.write(
          [
            `public recipient: ${recipient}`,
            "next:",
            "  1. put it in ktsw.yaml secrets.ageRecipients and in .sops.yaml's age rule",
            "  2. re-encrypt: sops updatekeys <file> for every *.sops.yaml (ktsw secrets check lists them)",
            `  3. give Flux the key: kubectl -n flux-system create secret generic sops-age --from-file=age.agekey=${keyFile}`,
            "",
          ].join("\n"),
        );
      } catch (err) {
        process.stderr.write(`ktsw secrets init: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = exitCodes.prerequisite;
      }
    });

  secrets
    .command("encrypt")
    .description("encrypt *.sops.yaml files in place with the repository's .sops.yaml rules")
    .argument("<files...>")
    .action(async (files: string[]) => {
      const root = repoRoot(globals().config);
      for (const file of files) {
        if (!file.endsWith(".sops.yaml")) {
          process.stderr.write(
            `${file}: only *.sops.yaml files are encrypted (the .sops.yaml rule matches that name)\n`,
          );
          process.exitCode = exitCodes.usage;
          continue;
        }
        const text = readFileSync(resolve(file), "utf8");
        if (/^sops:\s*$/m.test(text)) {
          process.stdout.write(`${file}: already encrypted\n`);
          continue;
        }
        const res = await sopsEncryptInPlace(root, resolve(file));
        if (res.code !== 0) {
          process.stderr.write(`${file}: sops failed: ${res.stderr.trim()}\n`);
          process.exitCode = exitCodes.findings;
        } else process.stdout.write(`${file}: encrypted\n`);
      }
    });

  secrets
    .command("decrypt")
    .description("print a decrypted *.sops.yaml to stdout (nothing is written to disk)")
    .argument("<file>")
    .option("--key-file <file>", "age key", defaultKeyFile())
    .action(async (file: string, o: { keyFile: string }) => {
      const res = await sopsDecrypt(repoRoot(globals().config), resolve(file), o.keyFile);
      if (res.code !== 0) {
        process.stderr.write(`${file}: sops cannot decrypt it: ${res.stderr.trim()}\n`);
        process.exitCode = exitCodes.findings;
      } else process.stdout.write(res.stdout);
    });

  secrets
    .command("edit")
    .description("open a *.sops.yaml decrypted in $EDITOR; sops re-encrypts it on save")
    .argument("<file>")
    .action((file: string) => {
      const res = spawnSync(requireTool("sops"), [resolve(file)], {
        stdio: "inherit",
        cwd: repoRoot(globals().config),
      });
      process.exitCode = res.status ?? 1;
    });

  secrets
    .command("check")
    .description("every *.sops.yaml is encrypted to ktsw.yaml's recipients, and .sops.yaml agrees")
    .option("--decrypt-with <key-file>", "also decrypt every file with this age key")
    .action(async (o: { decryptWith?: string }) => {
      process.exitCode = await runSecretsCheck(globals(), o.decryptWith);
    });
}
