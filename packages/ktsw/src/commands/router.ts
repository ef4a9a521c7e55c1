// `ktsw router apply`: the rendered OPNsense calls (render/router/opnsense-api.ts) applied to a router
// through its REST API, idempotently (src/router). Options are parsed and checked here, once.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { loadConfig } from "../config/load.ts";
import { routerBgpPlan } from "../network/router-bgp.ts";
import { opnsenseApiPayload } from "../render/router/opnsense-api.ts";
import { parseKeyFile, RouterAuthFailed, RouterUnreachable, routerApi } from "../router/http.ts";
import { changesOf, planApply } from "../router/plan.ts";
import { applyToRouter, RouterRefused, readState } from "../router/run.ts";
import { exitCodes, type GlobalOptions, printFindings, summary } from "./shared.ts";

interface RouterApplyOptions {
  url: string;
  keyFile: string;
  dryRun?: boolean;
  insecure?: boolean;
  caFile?: string;
  secret: string[];
}

const say = (line: string) => process.stdout.write(`  ${line}\n`);

/** Everything the run needs, or the usage/prerequisite problem to print (checked in this one place). */
async function prerequisites(o: RouterApplyOptions) {
  const fail = (code: number, message: string) => ({ code, message }) as const;
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    return fail(exitCodes.usage, `--url ${o.url} is not a URL (https://router.example)`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return fail(exitCodes.usage, "--url must be https://…");
  if (o.insecure && o.caFile) return fail(exitCodes.usage, "--insecure and --ca-file exclude each other");
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file, "utf8");
    } catch (err) {
      throw new Error(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  try {
    const credentials = parseKeyFile(await read(o.keyFile, "the key file"));
    if (!credentials)
      return fail(exitCodes.usage, `${o.keyFile} holds no API key: expected key=… and secret=… lines, or key:secret`);
    const secrets: Record<string, string> = {};
    for (const pair of o.secret) {
      const [name, file] = pair.split("=", 2);
      if (!name || !file) return fail(exitCodes.usage, `--secret ${pair}: expected NAME=FILE`);
      secrets[name] = (await read(file, `the secret ${name} in`)).trim();
    }
    const ca = o.caFile ? await read(o.caFile, "the CA file") : undefined;
    return { url, credentials, secrets, ca };
  } catch (err) {
    return fail(exitCodes.prerequisite, (err as Error).message);
  }
}

async function routerApply(configPath: string, o: RouterApplyOptions): Promise<number> {
  const loaded = await loadConfig(configPath);
  if (!loaded.config) {
    printFindings(loaded.findings);
    return exitCodes.findings;
  }
  const ready = await prerequisites(o);
  if ("code" in ready) {
    summary(false, `router apply: ${ready.message}`);
    return ready.code;
  }
  if (ready.url.protocol === "http:") say("warning: plain http: the API key crosses the network unencrypted");
  if (o.insecure)
    say("warning: --insecure: the router's certificate is not checked (anyone in between can read the key)");
  const calls = opnsenseApiPayload(loaded.config, routerBgpPlan(loaded.config)).calls;
  const api = routerApi({ url: ready.url.href, ...ready.credentials, ca: ready.ca, insecure: o.insecure });
  try {
    if (o.dryRun) {
      const steps = planApply(calls, await readState(api, calls));
      for (const s of steps)
        process.stdout.write(`${s.method} ${s.path}${s.body ? ` ${JSON.stringify(s.body)}` : ""}\n`);
      summary(
        true,
        `router apply --dry-run: ${changesOf(steps).length} changes, ${steps.length} calls; nothing was sent`,
      );
      return exitCodes.ok;
    }
    const r = await applyToRouter(api, calls, { secrets: ready.secrets, progress: say });
    summary(true, `router apply: ${r.changed} changes, ${r.steps.length} calls; the firewall read back as planned`);
    return exitCodes.ok;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    summary(false, `router apply: ${message}`);
    if (err instanceof RouterUnreachable || err instanceof RouterAuthFailed) return exitCodes.prerequisite;
    if (!(err instanceof RouterRefused))
      say("Run `ktsw router apply` again once fixed: it changes only what still differs.");
    return exitCodes.findings;
  }
}

export function registerRouter(program: Command): void {
  const router = program.command("router").description("the edge router (OPNsense) configured from ktsw.yaml");
  router
    .command("apply")
    .description(
      "apply the rendered OPNsense calls through its REST API: add or update KTSW's objects, delete the ones no longer rendered, reload, verify the firewall",
    )
    .requiredOption("--url <url>", "the router's web address, e.g. https://10.10.0.1")
    .requiredOption(
      "--key-file <file>",
      "the API key file OPNsense offers for download (key=… / secret=…) or key:secret",
    )
    .option("--dry-run", "read the router, print the calls (method, path, body) that would be sent, change nothing")
    .option("--insecure", "do not check the router's TLS certificate (OPNsense's self-signed default)")
    .option("--ca-file <file>", "the CA certificate (PEM) that signed the router's certificate")
    .option("--secret <name=file...>", "a value for {{secret:NAME}} (e.g. wireguard-private-key=wg.key)", [])
    .action(async (opts: RouterApplyOptions) => {
      process.exitCode = await routerApply(program.opts<GlobalOptions>().config, opts);
    });
}
