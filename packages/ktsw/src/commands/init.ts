// `ktsw init`: a commented starter ktsw.yaml. It starts from the example site (which the test suite
// keeps valid) and swaps in what makes a site yours; everything else is edited afterwards.
import { existsSync, readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline/promises";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { parseConfig } from "../config/load.ts";
import { exitCodes, type GlobalOptions, printFindings, summary } from "./shared.ts";

export interface InitAnswers {
  name: string;
  domain: string;
  sshKey?: string;
  ageRecipient?: string;
}

const exampleConfig = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "ktsw.yaml");

/** Pure: the example text with the site's own values put in. */
export function starterConfig(example: string, a: InitAnswers): string {
  let text = example
    .replace(/^( {2}name: ).*$/m, `$1${a.name}`)
    .replace(/^( {2}domain: )\S+(.*)$/m, `$1${a.domain}$2`)
    .replace(/^( {4}localZone: ).*$/m, `$1${a.domain}`);
  if (a.sshKey) text = text.replace(/^( {4}- )ssh-\S+ \S+.*$/m, `$1${a.sshKey}`);
  if (a.ageRecipient) text = text.replace(/^( {4}- )age1\S+.*$/m, `$1${a.ageRecipient}`);
  return text;
}

export async function runInit(opts: GlobalOptions & Partial<InitAnswers> & { force?: boolean }): Promise<number> {
  if (existsSync(opts.config) && !opts.force) {
    process.stderr.write(`${opts.config} exists; use --force to overwrite it.\n`);
    return exitCodes.usage;
  }
  const answers: InitAnswers = {
    name: opts.name ?? "",
    domain: opts.domain ?? "",
    sshKey: opts.sshKey,
    ageRecipient: opts.ageRecipient,
  };
  if ((!answers.name || !answers.domain) && process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    answers.name ||= (await rl.question("Site name (a DNS label) [homelab]: ")) || "homelab";
    answers.domain ||= (await rl.question("Domain [lab.home.arpa]: ")) || "lab.home.arpa";
    answers.sshKey ||= (await rl.question("SSH public key for the nodes (empty: keep the example's): ")) || undefined;
    rl.close();
  }
  answers.name ||= "homelab";
  answers.domain ||= "lab.home.arpa";
  const text = starterConfig(readFileSync(exampleConfig, "utf8"), answers);
  const { findings } = parseConfig(text, opts.config);
  if (findings.length > 0) {
    // Refuse to write a file that would not validate: the answers themselves are wrong.
    printFindings(findings);
    return exitCodes.findings;
  }
  const temp = `${opts.config}.ktsw-tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, opts.config);
  summary(true, `wrote ${opts.config}; edit the addresses and nodes, then run \`ktsw check\``);
  return exitCodes.ok;
}

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("write a commented starter ktsw.yaml (asks on a terminal, or takes flags)")
    .option("--name <name>", "site name, a DNS label")
    .option("--domain <domain>", "site domain, e.g. lab.home.arpa")
    .option("--ssh-key <key>", "OpenSSH public key installed on every node")
    .option("--age-recipient <age1...>", "age public key that encrypts the site's secrets")
    .option("--force", "overwrite an existing file")
    .action(async (opts: Partial<InitAnswers> & { force?: boolean }) => {
      process.exitCode = await runInit({ ...program.opts<GlobalOptions>(), ...opts });
    });
}
