// The sim's local sources end to end, with real git and real HTTP: a small site (a git repository with a
// `kubernetes/` folder and the offline data beside it), its snapshot and upstream copy cloned from the sources
// server the way Flux's source-controller fetches them, the offline Helm repository pulled, a changed working tree
// seen as a new commit, and the errors a user can meet.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { devNull, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { type SimLayout, simLayout } from "../../src/sim/layout.ts";
import { isRunning, type Started, stopAll } from "../../src/sim/processes.ts";
import { refreshSimSources, type SimSources, startSimSources } from "../../src/sim/sources/index.ts";
import { findTool } from "../../src/tools/find.ts";
import { defaultChartsDir, defaultManifestsDir } from "../../src/validate/index.ts";
import { repo } from "../support/cli.ts";

const exec = promisify(execFile);
const shared = join(repo, "..", "shared");
const why = !defaultChartsDir(repo)
  ? `no offline Helm repository at ${join("..", "shared", "charts")} beside the repository`
  : !defaultManifestsDir(repo)
    ? `no offline upstream copies at ${join("..", "shared", "manifests")} beside the repository`
    : !findTool("git")
      ? "git not found (apt-get install git)"
      : undefined;
if (why) console.warn(`SKIPPING the sim's local sources tests: ${why}`);
const helm = findTool("helm");
if (!why && !helm) console.warn("SKIPPING `helm pull` from the sim's Helm repository: helm not found");

/** Git with no user config, so the fixture commits the same everywhere. */
const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: devNull,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.invalid",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.invalid",
};
const git = async (args: string[], env: NodeJS.ProcessEnv = gitEnv) =>
  (await exec("git", args, { env, maxBuffer: 16 * 1024 * 1024 })).stdout;

/** Files of the real tree the fixture site is made of. */
const siteFiles = [
  "kubernetes/README.md",
  "kubernetes/clusters/homelab/flux-system.yaml",
  "kubernetes/networking/metallb/app/helmrepository.yaml",
  "kubernetes/platform/keycloak-operator/ks.yaml",
];
const metallbRepo = "kubernetes/networking/metallb/app/helmrepository.yaml";

describe.skipIf(why)("the sim's local sources", () => {
  let work: string;
  let site: string;
  let layout: SimLayout;
  let sources: SimSources;
  const progress: string[] = [];
  let cloneCount = 0;
  /** `git [-c k=v…] clone [other flags…] url`: `-c` pairs configure git, the rest go to clone. */
  const clone = async (url: string, flags: string[] = []) => {
    const into = join(work, `clone-${++cloneCount}`);
    const config = flags.flatMap((f, i) => (f === "-c" || flags[i - 1] === "-c" ? [f] : []));
    const rest = flags.filter((f, i) => !(f === "-c" || flags[i - 1] === "-c"));
    await exec("git", [...config, "clone", "--quiet", ...rest, url, into], { env: gitEnv });
    return { dir: into };
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "ktsw-sim-sources-"));
    site = join(work, "site");
    symlinkSync(shared, join(work, "shared")); // the offline data beside the site, as beside the repository
    for (const f of siteFiles) {
      mkdirSync(dirname(join(site, f)), { recursive: true });
      cpSync(join(repo, f), join(site, f));
    }
    writeFileSync(join(site, ".gitignore"), "*.local.yaml\n");
    await git(["-C", site, "init", "--quiet", "-b", "main"]);
    await git(["-C", site, "add", "-A"]);
    await git(["-C", site, "commit", "--quiet", "-m", "site"]);
    // Not committed: one new file the snapshot carries, one ignored file it leaves out.
    writeFileSync(join(site, "kubernetes/new.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new}\n");
    writeFileSync(join(site, "kubernetes/mine.local.yaml"), "secret: 1\n");
    layout = simLayout(join(work, "sim"));
    mkdirSync(layout.logs, { recursive: true });
    sources = await startSimSources({ repoRoot: site, layout, progress: (l) => progress.push(l) });
  });

  afterAll(async () => {
    if (sources) await stopAll([sources.process]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("the redirect list names each redirected object, and the sim printed each one", () => {
    expect(
      sources.snapshot.redirections.map((r) => [r.kind, `${r.namespace}/${r.name}`, r.from, r.to, r.file]),
    ).toEqual([
      [
        "GitRepository",
        "flux-system/flux-system",
        "https://github.com/example/homelab.git",
        sources.treeGitUrl,
        "kubernetes/clusters/homelab/flux-system.yaml",
      ],
      ["HelmRepository", "metallb-system/metallb", "https://metallb.github.io/metallb", sources.helmUrl, metallbRepo],
      [
        "GitRepository",
        "flux-system/keycloak-k8s-resources",
        "https://github.com/keycloak/keycloak-k8s-resources",
        sources.gitUrl("github.com/keycloak/keycloak-k8s-resources.git"),
        "kubernetes/platform/keycloak-operator/ks.yaml",
      ],
    ]);
    for (const name of ["flux-system/flux-system", "metallb-system/metallb", "flux-system/keycloak-k8s-resources"])
      expect(
        progress.some((l) => l.startsWith("redirected ") && l.includes(name)),
        name,
      ).toBe(true);
    expect(sources.snapshot.notRedirected).toEqual([]);
  });

  test("the snapshot clones over smart HTTP with protocol v0 and v2 and shallow, as Flux fetches, redirected", async () => {
    for (const flags of [
      ["-c", "protocol.version=0"],
      ["-c", "protocol.version=2"],
    ]) {
      const { dir } = await clone(sources.treeGitUrl, flags);
      const fluxSystem = readFileSync(join(dir, "kubernetes/clusters/homelab/flux-system.yaml"), "utf8");
      expect(fluxSystem).toContain(`url: ${sources.treeGitUrl}`);
      expect(parse(readFileSync(join(dir, metallbRepo), "utf8")).spec.url).toBe(sources.helmUrl);
      expect(readFileSync(join(dir, "kubernetes/README.md"), "utf8")).toBe(
        readFileSync(join(site, "kubernetes/README.md"), "utf8"),
      );
      expect(existsSync(join(dir, "kubernetes/new.yaml")), "an uncommitted new file").toBe(true);
      expect(existsSync(join(dir, "kubernetes/mine.local.yaml")), "an ignored file").toBe(false);
      expect(await git(["-C", dir, "log", "-1", "--format=%an <%ae>"])).toBe("ktsw sim <sim@ktsw.invalid>\n");
    }
    // source-controller's go-git speaks protocol v0 and fetches one commit deep.
    for (const version of ["0", "2"]) {
      const { dir } = await clone(sources.treeGitUrl, ["-c", `protocol.version=${version}`, "--depth", "1"]);
      expect((await git(["-C", dir, "rev-parse", "--is-shallow-repository"])).trim()).toBe("true");
    }
  });

  test("protocol v2 reaches git: the Git-Protocol header is passed to http-backend", async () => {
    const traced = await exec("git", ["-c", "protocol.version=2", "ls-remote", sources.treeGitUrl], {
      env: { ...gitEnv, GIT_TRACE_PACKET: "1" },
    });
    expect(traced.stderr).toMatch(/git< version 2/);
    expect(traced.stdout).toMatch(/\trefs\/heads\/main\n/);
  });

  test("an upstream copy clones at the tag its GitRepository names, its files where upstream keeps them", async () => {
    const url = sources.gitUrl("github.com/keycloak/keycloak-k8s-resources.git");
    const { dir } = await clone(url);
    await git(["-C", dir, "checkout", "--quiet", "26.0.0"]);
    const copy = join(shared, "manifests", "keycloak-operator-26.0.0");
    expect(readFileSync(join(dir, "kubernetes", "kubernetes.yml"), "utf8")).toBe(
      readFileSync(join(copy, "kubernetes.yml"), "utf8"),
    );
    expect((await git(["ls-remote", "--tags", url])).trim()).toMatch(/\trefs\/tags\/26\.0\.0$/);
  });

  test("a changed working tree is a new commit on top of the last; an unchanged one adds none", async () => {
    const file = join(site, metallbRepo);
    const original = readFileSync(file, "utf8");
    const treeRepo = join(layout.gitRepos, "tree.git");
    const before = (await git(["--git-dir", treeRepo, "rev-parse", "main"])).trim();
    try {
      writeFileSync(file, original.replace("interval: 12h", "interval: 5m"));
      const changed = await refreshSimSources({ repoRoot: site, layout, baseUrl: sources.baseUrl });
      expect(changed.changed).toBe(true);
      expect((await git(["--git-dir", treeRepo, "rev-parse", "main~1"])).trim()).toBe(before);
      expect((await git(["--git-dir", treeRepo, "log", "-1", "--format=%s", "main"])).trim()).toMatch(
        /with uncommitted changes/,
      );
      const { dir } = await clone(sources.treeGitUrl);
      expect(parse(readFileSync(join(dir, metallbRepo), "utf8")).spec).toEqual({
        interval: "5m",
        url: sources.helmUrl,
      });
      const again = await refreshSimSources({ repoRoot: site, layout, baseUrl: sources.baseUrl });
      expect(again).toMatchObject({ changed: false, commit: changed.commit });
    } finally {
      writeFileSync(file, original);
      await refreshSimSources({ repoRoot: site, layout, baseUrl: sources.baseUrl });
    }
  });

  test("the offline Helm repository: index.yaml with relative chart URLs, and each chart as it is on disk", async () => {
    const index = await fetch(`${sources.helmUrl}/index.yaml`);
    expect(index.status).toBe(200);
    const [metallb] = parse(await index.text()).entries.metallb;
    expect(metallb.urls).toEqual(["metallb-0.15.3.tgz"]);
    const chart = await fetch(`${sources.helmUrl}/${metallb.urls[0]}`);
    expect(chart.status).toBe(200);
    expect(Buffer.from(await chart.arrayBuffer())).toEqual(readFileSync(join(shared, "charts", "metallb-0.15.3.tgz")));
    expect((await fetch(`${sources.helmUrl}/nope-1.0.0.tgz`)).status).toBe(404);
    expect((await fetch(`${sources.helmUrl}/..%2FSOURCES.tsv`)).status).toBe(404);
  });

  test.skipIf(!helm)("helm pull fetches a chart from the sim's Helm repository", async () => {
    const home = join(work, "helm");
    const into = join(work, "pulled");
    mkdirSync(into, { recursive: true });
    await exec(
      helm as string,
      ["pull", "metallb", "--repo", sources.helmUrl, "--version", "0.15.3", "--destination", into],
      {
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(home, "cache"),
          HELM_CONFIG_HOME: join(home, "config"),
          HELM_DATA_HOME: join(home, "data"),
        },
      },
    );
    expect(readFileSync(join(into, "metallb-0.15.3.tgz"))).toEqual(
      readFileSync(join(shared, "charts", "metallb-0.15.3.tgz")),
    );
  });

  test("the server is a detached process of its own that answers until it is stopped", async () => {
    const other = simLayout(join(work, "stopped-sim"));
    mkdirSync(other.logs, { recursive: true });
    const recorded: Started[] = [];
    const started = await startSimSources({
      repoRoot: site,
      layout: other,
      progress: () => {},
      onStart: (p) => {
        recorded.push(p);
      },
    });
    try {
      expect(recorded).toEqual([started.process]); // recorded before the wait, so Ctrl-C during it stops it too
      expect(started.process.pid).not.toBe(process.pid);
      expect(isRunning(started.process)).toBe(true);
      expect((await fetch(`${started.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await stopAll([started.process]);
    }
    expect(isRunning(started.process)).toBe(false);
    await expect(fetch(`${started.baseUrl}/healthz`)).rejects.toThrow();
  });

  test("a port in use and a folder that is no Helm repository are clear errors", async () => {
    const holder = createServer();
    await new Promise<void>((done) => holder.listen(0, "127.0.0.1", done));
    const held = (holder.address() as { port: number }).port;
    const other = simLayout(join(work, "other-sim"));
    mkdirSync(other.logs, { recursive: true });
    try {
      await expect(startSimSources({ repoRoot: site, layout: other, progress: () => {}, port: held })).rejects.toThrow(
        `port ${held} (the sim's sources server) is in use: stop what holds it or pick another`,
      );
    } finally {
      holder.close();
    }
    await expect(
      startSimSources({ repoRoot: site, layout: other, progress: () => {}, chartsDir: join(work, "no-charts") }),
    ).rejects.toThrow(/no-charts holds no index\.yaml: not a Helm repository/);
  });
});
