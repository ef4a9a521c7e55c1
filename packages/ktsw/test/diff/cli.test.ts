// `ktsw diff <ref>` as a person runs it, on a git repository the test makes: the example ktsw.yaml
// with the fixture Flux tree (a chart of the tests' own, packaged at run time), committed; then a
// second commit that changes the site file, a plain manifest, a HelmRelease's values and a Secret,
// adds an object and removes one. Then once on the real repository: HEAD against a clean tree.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { findTool, whyMissing } from "../../src/tools/find.ts";
import { defaultChartsDir, defaultSchemaSources } from "../../src/validate/index.ts";
import { type CliResult, cli, repo, runKtsw } from "../support/cli.ts";

const fixture = join(import.meta.dirname, "../validate/fixtures/helm");
const missing = whyMissing(["git", "helm", "kustomize"]);
if (missing) console.warn(`SKIPPING ktsw diff tests: ${missing}`);
const builtin = defaultSchemaSources(repo, undefined, undefined, "v1.33.5+k3s1").builtinDir;

let work = "";
let site = "";
let charts = "";

function git(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): string {
  return execFileSync(findTool("git") as string, args, {
    cwd: site,
    encoding: "utf8",
    ...(input === undefined ? {} : { input }),
    env: {
      ...process.env,
      ...env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
    },
  });
}

/** Replaces `from` by `to` in a file of the site, failing loudly when `from` is not there. */
function edit(file: string, from: string, to: string): void {
  const path = join(site, file);
  const text = readFileSync(path, "utf8");
  if (!text.includes(from)) throw new Error(`${file} does not contain ${from}`);
  writeFileSync(path, text.replace(from, to));
}

const SECRET_BEFORE = "s3cret-before-value";
const SECRET_AFTER = "s3cret-after-value";
const probe = "kubernetes/apps/probe";

function makeSite(): void {
  mkdirSync(site, { recursive: true });
  cpSync(join(repo, "ktsw.yaml"), join(site, "ktsw.yaml"));
  cpSync(join(fixture, "kubernetes"), join(site, "kubernetes"), { recursive: true });
  edit("ktsw.yaml", "path: ./kubernetes/clusters/homelab", "path: ./kubernetes/clusters/test");
  writeFileSync(
    join(site, probe, "secret.yaml"),
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: probe-password\n  namespace: probe\nstringData:\n  password: ${SECRET_BEFORE}\n`,
  );
  edit(`${probe}/kustomization.yaml`, "  - ./missing-pin.yaml\n", "  - ./missing-pin.yaml\n  - ./secret.yaml\n");
  git(["init", "--quiet", "--initial-branch=main"]);
  git(["add", "--all"]);
  git(["commit", "--quiet", "--message", "before"]);
  // The change under review: one of each kind of difference.
  edit("ktsw.yaml", "timezone: Europe/Berlin", "timezone: Europe/Paris"); // cloud-init of every node
  edit("ktsw.yaml", "vmid: 212, cores: 6, memory: 16384", "vmid: 212, cores: 6, memory: 24576"); // a VM
  edit("ktsw.yaml", "hostname: edge", "hostname: edge-2"); // the router
  edit(`${probe}/helmrelease.yaml`, "replicas: 3", "replicas: 5"); // rendered Deployment
  edit(`${probe}/namespaces.yaml`, "  name: probe-target\n", "  name: probe-target\n  labels:\n    tier: probe\n"); // plain
  edit(`${probe}/secret.yaml`, SECRET_BEFORE, SECRET_AFTER);
  edit(`${probe}/kustomization.yaml`, "  - ./missing-pin.yaml\n", "  - ./added.yaml\n"); // one removed, one added
  writeFileSync(
    join(site, probe, "added.yaml"),
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe-added\n  namespace: probe\ndata:\n  hello: world\n",
  );
  git(["add", "--all"]);
  git(["commit", "--quiet", "--message", "after"]);
}

const diff = (...args: string[]) =>
  runKtsw(["--config", join(site, "ktsw.yaml"), "diff", ...args, "--charts", charts, "--k8s-schemas", builtin]);

let text: CliResult;
let markdown: CliResult;

beforeAll(async () => {
  if (missing) return;
  work = mkdtempSync(join(tmpdir(), "ktsw-diff-test-"));
  site = join(work, "site");
  charts = join(work, "charts");
  const helm = findTool("helm") as string;
  execFileSync(helm, ["package", join(fixture, "chart", "probe"), "--destination", charts], { stdio: "pipe" });
  execFileSync(helm, ["repo", "index", charts], { stdio: "pipe" });
  makeSite();
  text = await diff("HEAD~1");
  markdown = await diff("HEAD~1", "--format", "markdown");
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The lines of the text report from the entry naming `label` up to the next entry. */
function entry(out: string, label: string): string {
  const lines = out.split("\n");
  const start = lines.findIndex((l) => /^ {4}[+~-] /.test(l) && l.includes(label));
  if (start < 0) throw new Error(`no entry ${label} in:\n${out}`);
  const end = lines.findIndex((l, i) => i > start && /^ {0,4}\S/.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

describe.skipIf(missing)("ktsw diff on a git repository made by the test", () => {
  test("differences exit 1 and are summed up", () => {
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toMatch(/diff HEAD~1 \([0-9a-f]{12}\) → working tree: 1 added, 1 removed, \d+ changed/);
  });

  test("a ktsw.yaml change shows in the rendered router, VM and cloud-init files, infrastructure first", () => {
    const report = text.stdout.split("\n").filter((l) => !l.startsWith("· "));
    expect(text.stdout).toMatch(/· read in \d+\.\d\d s \(working tree\) and \d+\.\d\d s \(HEAD~1, /);
    expect(report[0]).toMatch(/^infrastructure \(files `ktsw render` makes from ktsw.yaml\)/);
    expect(entry(text.stdout, "infrastructure/proxmox/terraform.tfvars.json")).toMatch(/-.*16384[\s\S]*\+.*24576/);
    expect(entry(text.stdout, "infrastructure/nodes/worker-1/user-data.yaml")).toContain("+timezone: Europe/Paris");
    expect(entry(text.stdout, "infrastructure/router/")).toContain("edge-2");
  });

  test("a plain manifest change is a diff of that object, under its layer and Kustomization", () => {
    const apps = text.stdout.slice(text.stdout.indexOf("\napps"));
    expect(apps).toContain("Kustomization flux-system/probe  ./kubernetes/apps/probe");
    const namespace = entry(text.stdout, "~ Namespace probe-target");
    expect(namespace).toContain("+  labels:");
    expect(namespace).toContain("+    tier: probe");
  });

  test("a HelmRelease values change shows in the chart's rendered objects, named with their chart", () => {
    const deployment = entry(text.stdout, "Deployment probe-target/probe-target-probe-probe");
    expect(deployment).toContain("chart probe 1.2.0 of HelmRelease probe/probe");
    expect(deployment).toMatch(/- {2}replicas: 3\n\s+\+ {2}replicas: 5/);
  });

  test("an added and a removed object", () => {
    expect(entry(text.stdout, "+ ConfigMap probe/probe-added")).toContain("+  hello: world");
    expect(entry(text.stdout, "- HelmRelease probe/probe-next")).toContain("-      version: 9.9.9");
  });

  test("a changed Secret is named, its values never shown", () => {
    expect(entry(text.stdout, "~ Secret probe/probe-password")).toContain("Secret: changed, values not shown");
    for (const out of [text, markdown]) {
      expect(out.stdout + out.stderr).not.toContain(SECRET_BEFORE);
      expect(out.stdout + out.stderr).not.toContain(SECRET_AFTER);
      expect(out.stdout).not.toContain(Buffer.from(SECRET_AFTER).toString("base64"));
    }
  });

  test("--format markdown: a count table per layer, then a collapsible diff per object", () => {
    expect(markdown.code, markdown.stderr).toBe(1);
    expect(markdown.stdout).toContain("| layer | added | removed | changed |");
    expect(markdown.stdout).toMatch(/\| apps \| 1 \| 1 \| \d+ \|/);
    expect(markdown.stdout).toMatch(
      /\| infrastructure \(files `ktsw render` makes from ktsw.yaml\) \| 0 \| 0 \| \d+ \|/,
    );
    expect(markdown.stdout).toContain(
      "<details><summary>~ changed <code>Deployment probe-target/probe-target-probe-probe</code>",
    );
    expect(markdown.stdout).toMatch(/```diff\n--- a\/Deployment probe-target\/probe-target-probe-probe\n/);
    expect(markdown.stdout).toContain(
      "~ changed <code>Secret probe/probe-password</code> (Secret: changed, values not shown)",
    );
  });

  test("the same commit on both sides: no differences, exit 0, the temp checkout removed", async () => {
    const tmp = mkdtempSync(join(work, "tmp-"));
    const out = await runKtswIn(tmp, ["HEAD"]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/working tree: no differences/);
    expect(readdirSync(tmp).filter((f) => f.startsWith("ktsw-diff-"))).toEqual([]);
  });

  test("both sides render into the working tree's chart cache, so the ref's unchanged charts are not rendered again", () => {
    const cache = join(site, ".cache", "ktsw", "helm-renders");
    const renders = readdirSync(cache).map((f) => readFileSync(join(cache, f), "utf8"));
    // The ref's release (3 replicas) was rendered from the temp checkout, yet kept here beside the working tree's (5).
    expect(renders.some((r) => r.includes('"replicas":3'))).toBe(true);
    expect(renders.some((r) => r.includes('"replicas":5'))).toBe(true);
  });

  test("Ctrl-C while the ref's side is read: the temp checkout is removed and ktsw stops", async () => {
    const tmp = mkdtempSync(join(work, "tmp-"));
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        cli,
        "--config",
        join(site, "ktsw.yaml"),
        "diff",
        "HEAD~1",
        "--charts",
        charts,
        "--k8s-schemas",
        builtin,
      ],
      { cwd: repo, env: { ...process.env, TMPDIR: tmp, NO_COLOR: "1" }, stdio: "ignore" },
    );
    const exited = new Promise<NodeJS.Signals | number | null>((done) =>
      child.on("exit", (code, signal) => done(signal ?? code)),
    );
    const checkouts = () => readdirSync(tmp).filter((f) => f.startsWith("ktsw-diff-"));
    // The last file of the index in git's order: once it is there, checkout-index has written the tree.
    const last = "tree/kubernetes/clusters/test/settings.yaml";
    const deadline = Date.now() + 60_000;
    while (!checkouts().some((d) => existsSync(join(tmp, d, last)))) {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(
          `no checkout of HEAD~1 appeared in ${tmp} within 60 s (found: ${checkouts().join(", ") || "none"})`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGINT");
    expect(await exited).toBe("SIGINT");
    expect(checkouts()).toEqual([]);
  });

  test("a ref whose ktsw.yaml is broken: its problem named at ref:path, nothing compared, exit 1", async () => {
    // A commit beside HEAD, made with plumbing so the working tree and branch stay as they are.
    const index = { GIT_INDEX_FILE: join(work, "broken-index") };
    git(["read-tree", "HEAD"], index);
    const blob = git(["hash-object", "-w", "--stdin"], {}, "site: [unclosed\n").trim();
    git(["update-index", "--add", "--cacheinfo", `100644,${blob},ktsw.yaml`], index);
    const tree = git(["write-tree"], index).trim();
    const commit = git(["commit-tree", tree, "-p", "HEAD", "-m", "broken"]).trim();
    const out = await diff(commit);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(new RegExp(`✗ ${commit}:ktsw.yaml:\\d+:\\d+ YAML syntax`));
    expect(out.stderr).toContain("a side could not be read (its ktsw.yaml is missing or invalid), nothing compared");
    expect(out.stdout).toBe("");
  });

  test("a bad ref is a usage error naming the ref, exit 2", async () => {
    const out = await diff("no-such-branch");
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('ktsw diff: "no-such-branch" is not a commit in');
    expect(out.stdout).toBe("");
  });

  test("no ref at all is a usage error, exit 2", async () => {
    const out = await runKtsw(["diff"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("missing required argument 'git-ref'");
  });

  test("an unknown --format is a usage error, exit 2", async () => {
    const out = await diff("HEAD", "--format", "html");
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--format must be text or markdown, not "html"');
  });
});

/** `ktsw diff` with TMPDIR set, to see what it leaves behind. */
function runKtswIn(tmp: string, args: string[]): Promise<CliResult> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    return diff(...args);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

/** Why the real repository cannot be diffed here: a tool, the chart cache, or uncommitted changes to the site. */
function realRepoMissing(): string | undefined {
  if (missing) return missing;
  if (!defaultChartsDir(repo)) return "no offline chart repository ../shared/charts beside the repository";
  const dirty = execFileSync(findTool("git") as string, ["status", "--porcelain", "--", "ktsw.yaml", "kubernetes"], {
    cwd: repo,
    encoding: "utf8",
  });
  return dirty ? `uncommitted changes in the site:\n${dirty}` : undefined;
}
const realMissing = realRepoMissing();
if (realMissing && !missing) console.warn(`SKIPPING ktsw diff HEAD on the real repository: ${realMissing}`);

describe.skipIf(realMissing)("ktsw diff on the real repository", () => {
  test("HEAD against a clean working tree: no differences, exit 0", async () => {
    const out = await runKtsw(["diff", "HEAD", "--k8s-schemas", builtin]);
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toMatch(/✓ diff HEAD \([0-9a-f]{12}\) → working tree: no differences \(\d+\.\d\d s\)/);
  }, 240_000);
});
