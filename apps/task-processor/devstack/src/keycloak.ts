import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { mavenFolder } from "@ktsw/cli/catalog";
import { readDepLists } from "@ktsw/cli/deps";
import { substituteManifests } from "@ktsw/cli/flux-substitute";
import { sopsDecrypt } from "@ktsw/cli/sops";
import { whyMissing } from "@ktsw/cli/tools";
import { parse } from "yaml";
import { freePort, isListening, launch, type RunningServer, serve, tempDir, wrap } from "./servers.ts";

// Real Keycloak for the tests: the server distribution of deps/maven.txt (the release the tree's
// Keycloak runs), in dev mode on free ports with an H2 database in a temp dir. Realms go in the
// way the operator puts a KeycloakRealmImport in: `kc.sh import --override=false` of the realm as
// the tree declares it (after Flux's substitution), with each `spec.placeholders` entry an
// environment variable. Pure parts (which Java, which realm, which variables) are exported apart.

const repoRoot = join(import.meta.dirname, "../../../..");

/** Java releases Keycloak 26.0 supports, the preferred first (its docs: OpenJDK 21, and 17). */
export const KEYCLOAK_JAVA_RELEASES = [21, 17] as const;

/** Where Debian and vendor packages install JDKs and JREs, one folder each. */
const JVM_FOLDER = "/usr/lib/jvm";

/** The major release a JDK's `release` file names (`JAVA_VERSION="17.0.15"`; `1.8.0` is 8). */
export function javaMajor(releaseFile: string): number | undefined {
  const m = /^JAVA_VERSION="([\d.]+)/m.exec(releaseFile);
  if (!m?.[1]) return undefined;
  const [first, second] = m[1].split(".").map(Number);
  return first === 1 ? second : first;
}

/** The Java home to run Keycloak with: of the candidates, one of the most preferred supported release. */
export function pickJavaHome(
  candidates: readonly { home: string; release: string }[],
  supported: readonly number[] = KEYCLOAK_JAVA_RELEASES,
): string | undefined {
  for (const major of supported) {
    const found = candidates.find((c) => javaMajor(c.release) === major);
    if (found) return found.home;
  }
  return undefined;
}

/** The Java homes installed here, each once (Debian adds alias folders that link to the real one). */
export function installedJavaHomes(folder = JVM_FOLDER): { home: string; release: string }[] {
  if (!existsSync(folder)) return [];
  const seen = new Set<string>();
  return readdirSync(folder).flatMap((name) => {
    const home = realpathSync(join(folder, name));
    const release = join(home, "release");
    if (seen.has(home) || !existsSync(release)) return [];
    seen.add(home);
    return [{ home, release: readFileSync(release, "utf8") }];
  });
}

export interface KeycloakDistribution {
  version: string;
  home: string;
  kcSh: string;
}

/** The unpacked distribution deps/maven.txt pins, where scripts/install-deps.sh puts it. */
export function keycloakDistribution(): KeycloakDistribution {
  const line = readDepLists().maven.find((d) => d.name === "keycloak");
  const version = line?.module?.split(":")[2];
  if (!version) throw new Error("deps/maven.txt: no `keycloak group:artifact:version:zip` line");
  const home = join(repoRoot, mavenFolder("keycloak", version));
  return { version, home, kcSh: join(home, "bin/kc.sh") };
}

/** Why real Keycloak cannot run here (the first missing piece and how to install it), or undefined. */
export function keycloakMissing(): string | undefined {
  const tool = whyMissing(["setpriv"]);
  if (tool) return tool;
  const dist = keycloakDistribution();
  // The installer writes its mark last: a folder without it is a half-unpacked one.
  if (!existsSync(join(dist.home, ".ktsw-installed")))
    return `Keycloak ${dist.version} not installed (looked for ${dist.home}); install it with \`bash scripts/install-deps.sh\` (deps/maven.txt)`;
  if (!pickJavaHome(installedJavaHomes()))
    return `no Java ${KEYCLOAK_JAVA_RELEASES.join(" or ")} in ${JVM_FOLDER} (Keycloak ${dist.version} needs one); install openjdk-17-jre-headless (deps/apt.txt)`;
  return undefined;
}

/** A Secret reference of `spec.placeholders`: the variable's value is that key of that Secret. */
export interface Placeholder {
  secret: { name: string; key: string };
}

/** What the operator's import Job gets from a KeycloakRealmImport. */
export interface RealmImport {
  /** the object's name and file, for messages */
  source: string;
  realm: Record<string, unknown> & { realm: string };
  placeholders: Record<string, Placeholder>;
}

/**
 * The KeycloakRealmImport of a manifest file, after Flux's postBuild substitution with `vars` (the
 * cluster's settings) as kustomize-controller applies it: `$${X}` becomes the placeholder `${X}` the
 * import resolves. A variable Flux does not know, or a file without exactly one import, is an error.
 */
export function realmImportFrom(text: string, vars: Readonly<Record<string, string>>, file: string): RealmImport {
  const { objects, undefinedVars, problems } = substituteManifests(text, vars);
  if (problems.length) throw new Error(`${file}: ${problems.join("; ")}`);
  if (undefinedVars.length) throw new Error(`${file}: Flux does not know ${undefinedVars.join(", ")}`);
  const imports = objects.filter((o) => o.kind === "KeycloakRealmImport");
  if (imports.length !== 1) throw new Error(`${file}: expected one KeycloakRealmImport, found ${imports.length}`);
  const o = imports[0] as { metadata?: { name?: string }; spec?: Record<string, unknown> };
  const realm = o.spec?.realm as RealmImport["realm"] | undefined;
  if (!realm?.realm) throw new Error(`${file}: spec.realm.realm (the realm's name) is missing`);
  const placeholders = (o.spec?.placeholders ?? {}) as Record<string, Placeholder>;
  return { source: `${file} (${o.metadata?.name ?? "unnamed"})`, realm, placeholders };
}

/**
 * The environment the operator gives the import Job: each placeholder's variable from its Secret
 * (`secrets[name][key]`, decrypted). A placeholder naming a Secret or key that is not there fails the
 * Job in the cluster (the reference is not optional), so it is an error here too.
 */
export function placeholderEnv(
  imp: RealmImport,
  secrets: Readonly<Record<string, Readonly<Record<string, string>>>>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(imp.placeholders).map(([variable, p]) => {
      const value = secrets[p.secret?.name]?.[p.secret?.key];
      if (value === undefined)
        throw new Error(
          `${imp.source}: placeholder ${variable} names key "${p.secret?.key}" of Secret "${p.secret?.name}", which is not there`,
        );
      return [variable, value];
    }),
  );
}

/**
 * The Secrets of SOPS files (`sops -d` with `ageKeyFile`), by name: what the operator reads a
 * placeholder from once Flux has decrypted them. Each file's stringData (or decoded data).
 */
export async function decryptSecrets(
  files: readonly string[],
  ageKeyFile: string,
): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const file of files) {
    const res = await sopsDecrypt(repoRoot, file, ageKeyFile);
    if (res.code !== 0) throw new Error(`${file}: sops could not decrypt it: ${res.stderr.trim()}`);
    const secret = parse(res.stdout) as {
      metadata?: { name?: string };
      stringData?: Record<string, string>;
      data?: Record<string, string>;
    };
    const name = secret.metadata?.name;
    if (!name) throw new Error(`${file}: not a Secret with a name`);
    const data = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
    out[name] = { ...data, ...secret.stringData };
  }
  return out;
}

export interface KeycloakServer extends RunningServer {
  version: string;
  /** how long `kc.sh import` and the server's start took (ms) */
  importMs: number;
  startMs: number;
  issuer(realm: string): string;
  /** A call to the admin REST API (`/admin/realms/...`) as the bootstrap admin. */
  admin(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  /** Creates an enabled user with a password (profile complete, so no required action stops the login). */
  createUser(realm: string, user: { username: string; password: string; groups?: string[] }): Promise<void>;
}

/**
 * Imports `imports` into a fresh H2 database and starts Keycloak in dev mode on it. Resolves once
 * `/health/ready` on the management port answers 200; throws with the server's output otherwise.
 */
export async function startKeycloak(opts: {
  imports: readonly { realm: RealmImport["realm"]; env: Record<string, string> }[];
  readyTimeoutMs?: number;
}): Promise<KeycloakServer> {
  const dist = keycloakDistribution();
  const javaHome = pickJavaHome(installedJavaHomes());
  if (!javaHome) throw new Error(keycloakMissing());
  const dir = await tempDir("keycloak");
  const [port, management] = [await freePort(), await freePort()];
  const admin = { username: "bootstrap-admin", password: randomBytes(18).toString("base64url") };
  const env = {
    ...process.env,
    JAVA_HOME: javaHome,
    // The H2 file database of dev mode, in the temp dir instead of the distribution's data folder.
    KC_DB: "dev-file",
    KC_DB_URL: `jdbc:h2:file:${join(dir, "h2", "keycloakdb")};NON_KEYWORDS=VALUE`,
    // Whichever run creates the master realm creates this admin (the import's, here).
    KC_BOOTSTRAP_ADMIN_USERNAME: admin.username,
    KC_BOOTSTRAP_ADMIN_PASSWORD: admin.password,
  };
  const importDir = join(dir, "import");
  await mkdir(importDir);
  // The operator's file name: <realm>-realm.json, which the dir import provider also expects.
  for (const i of opts.imports)
    await writeFile(join(importDir, `${i.realm.realm}-realm.json`), JSON.stringify(i.realm));
  const placeholders = Object.assign({}, ...opts.imports.map((i) => i.env)) as Record<string, string>;
  const importStart = performance.now();
  const [bin, argv] = wrap(dist.kcSh, ["import", `--dir=${importDir}`, "--override=false"]);
  await promisify(execFile)(bin, argv, {
    // As the operator's Job: the placeholders' variables in the environment, from which `kc.sh import`
    // resolves each ${VAR} of the file (26.0 does so by default, no flag needed).
    env: { ...env, ...placeholders },
    maxBuffer: 16 * 1024 * 1024,
    // A stuck import fails loudly instead of holding the suite (a cold one on two busy cores takes ~70 s).
    timeout: 300_000,
  }).catch((err: { stdout?: string; stderr?: string }) => {
    throw new Error(`kc.sh import failed:\n${`${err.stdout ?? ""}${err.stderr ?? err}`.slice(-4_000)}`);
  });
  const importMs = performance.now() - importStart;
  const url = `http://127.0.0.1:${port}`;
  const args = [
    "start-dev",
    `--http-port=${port}`,
    "--http-host=127.0.0.1",
    "--health-enabled=true",
    `--http-management-port=${management}`,
  ];
  const started = performance.now();
  const server = await serve(
    { name: "keycloak", port, url, dir, stopSignal: "SIGTERM", readyTimeoutMs: opts.readyTimeoutMs ?? 180_000 },
    () => launch("keycloak", dist.kcSh, args, undefined, env),
    async () =>
      (await isListening(management)) &&
      (await fetch(`http://127.0.0.1:${management}/health/ready`).then(
        (r) => r.ok,
        () => false,
      )),
  );
  const startMs = performance.now() - started;
  const adminToken = async () => {
    const r = await fetch(`${url}/realms/master/protocol/openid-connect/token`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "password", client_id: "admin-cli", ...admin }),
    });
    if (!r.ok) throw new Error(`admin token: ${r.status} ${await r.text()}`);
    return ((await r.json()) as { access_token: string }).access_token;
  };
  const adminCall: KeycloakServer["admin"] = async (path, init = {}) =>
    fetch(`${url}/admin${path}`, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${await adminToken()}`,
        ...(init.body ? { "content-type": "application/json" } : {}),
      },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
  return Object.assign(server, {
    version: dist.version,
    importMs,
    startMs,
    issuer: (realm: string) => `${url}/realms/${realm}`,
    admin: adminCall,
    async createUser(realm: string, u: { username: string; password: string; groups?: string[] }) {
      const r = await adminCall(`/realms/${realm}/users`, {
        method: "POST",
        body: {
          username: u.username,
          enabled: true,
          email: `${u.username}@example.test`,
          emailVerified: true,
          firstName: u.username,
          lastName: "Test",
          credentials: [{ type: "password", value: u.password, temporary: false }],
          groups: u.groups ?? [],
        },
      });
      if (r.status !== 201) throw new Error(`creating user ${u.username} in ${realm}: ${r.status} ${await r.text()}`);
    },
  });
}
