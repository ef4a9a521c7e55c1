// The git repositories the sim's sources server serves, written with git itself: a snapshot of the working tree's
// `kubernetes/` folder (the working copy, uncommitted changes included: the sim shows what you are about to push)
// with its sources redirected, and one repository per offline upstream copy the tree uses, tagged as its
// GitRepository asks. Each snapshot is a commit on top of the last, so Flux sees a new revision; an unchanged
// tree adds none.
import { existsSync, statSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { devNull, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { run } from "../../lab/net/shell.ts";
import { requireTool } from "../../tools/find.ts";
import type { OfflineSource } from "../../validate/offline-sources.ts";
import { type LocalSources, type RedirectedTree, redirectSources } from "./redirect.ts";

/** The tree's snapshot, under the git repositories' folder. */
export const TREE_REPO = "tree.git";
/** An upstream repository's local copy, named after it: `github.com/keycloak/keycloak-k8s-resources.git`. */
export const upstreamRepoPath = (repo: string) => `${repo}.git`;
export const TREE_FOLDER = "kubernetes";

/** Git for the sim's own repositories: no user or system config (no signing, hooks or excludes of the user's), the
 *  sim as author, and no GIT_* variables inherited from a hook that happens to run us. */
function simGitEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GIT_")));
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: devNull,
    GIT_AUTHOR_NAME: "ktsw sim",
    GIT_AUTHOR_EMAIL: "sim@ktsw.invalid",
    GIT_COMMITTER_NAME: "ktsw sim",
    GIT_COMMITTER_EMAIL: "sim@ktsw.invalid",
  };
}

const git = (args: string[], env: NodeJS.ProcessEnv = simGitEnv()) => run(requireTool("git"), args, { env });

async function revision(gitDir: string, ref: string): Promise<string | undefined> {
  try {
    return (await git(["--git-dir", gitDir, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim();
  } catch {
    return undefined;
  }
}

async function ensureBareRepo(gitDir: string, branch: string): Promise<void> {
  if (!existsSync(join(gitDir, "HEAD"))) {
    await mkdir(gitDir, { recursive: true });
    await git(["init", "--quiet", "--bare", gitDir]);
  }
  // A plain `git clone` checks out the branch the sim commits to.
  await git(["--git-dir", gitDir, "symbolic-ref", "HEAD", `refs/heads/${branch}`]);
}

export interface Commit {
  commit: string;
  /** False when the folder equals the branch's tip: no commit was added. */
  changed: boolean;
}

/** Commits exactly the files of `folder` on top of `branch` (a temporary index, so the repository stays bare). */
async function commitFolder(gitDir: string, folder: string, branch: string, message: string): Promise<Commit> {
  await ensureBareRepo(gitDir, branch);
  const scratch = await mkdtemp(join(tmpdir(), "ktsw-sim-index-"));
  try {
    const env = { ...simGitEnv(), GIT_INDEX_FILE: join(scratch, "index") };
    const at = ["--git-dir", gitDir, "--work-tree", folder];
    // -f: the folder holds exactly what should be committed; no ignore file may drop any of it.
    await git([...at, "add", "--all", "--force", "."], env);
    const tree = (await git([...at, "write-tree"], env)).trim();
    const parent = await revision(gitDir, `refs/heads/${branch}`);
    if (parent && (await git(["--git-dir", gitDir, "rev-parse", `${parent}^{tree}`])).trim() === tree)
      return { commit: parent, changed: false };
    const commit = (
      await git(["--git-dir", gitDir, "commit-tree", tree, ...(parent ? ["-p", parent] : []), "-m", message])
    ).trim();
    await git(["--git-dir", gitDir, "update-ref", `refs/heads/${branch}`, commit]);
    return { commit, changed: true };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The files of `treeDir` a `git add -A` would commit: tracked and untracked, not ignored, not deleted. Without a
 *  git repository (an unpacked archive), every file of the folder. */
export async function workingTreeFiles(repoRoot: string, treeDir = TREE_FOLDER): Promise<string[]> {
  const isFile = (p: string) => existsSync(join(repoRoot, p)) && statSync(join(repoRoot, p)).isFile();
  let listed: string[];
  try {
    const out = await run(requireTool("git"), [
      "-C",
      repoRoot,
      "ls-files",
      "-z",
      "--cached",
      "--others",
      "--exclude-standard",
      "--",
      treeDir,
    ]);
    listed = out.split("\0").filter((p) => p !== "");
  } catch {
    const entries = await readdir(join(repoRoot, treeDir), { recursive: true, withFileTypes: true });
    listed = entries.map((e) => relative(repoRoot, join(e.parentPath ?? e.path, e.name)));
  }
  return [...new Set(listed)].filter(isFile).sort();
}

/** Where the working tree stands, for the snapshot's commit message. */
async function describeWorkingTree(repoRoot: string, treeDir: string): Promise<string> {
  try {
    const head = (await run(requireTool("git"), ["-C", repoRoot, "rev-parse", "--short", "HEAD"])).trim();
    const dirty =
      (await run(requireTool("git"), ["-C", repoRoot, "status", "--porcelain", "--", treeDir])).trim() !== "";
    return `${head}${dirty ? " with uncommitted changes" : ""}`;
  } catch {
    return "a folder outside git";
  }
}

export interface TreeSnapshot extends Commit, Omit<RedirectedTree, "files"> {}

export interface SnapshotOptions {
  repoRoot: string;
  /** The folder of the bare repositories (SimLayout.gitRepos). */
  gitRepos: string;
  local: LocalSources;
  treeDir?: string;
}

/** Writes the working tree's `kubernetes/` folder, sources redirected, as the next commit of the tree's repository. */
export async function snapshotTree(o: SnapshotOptions): Promise<TreeSnapshot> {
  const treeDir = o.treeDir ?? TREE_FOLDER;
  const paths = await workingTreeFiles(o.repoRoot, treeDir);
  const contents = new Map(
    await Promise.all(paths.map(async (p) => [p, await readFile(join(o.repoRoot, p))] as const)),
  );
  const yamlTexts = new Map(
    [...contents].filter(([p]) => /\.ya?ml$/.test(p)).map(([p, bytes]) => [p, bytes.toString("utf8")]),
  );
  const { files, ...redirected } = redirectSources(yamlTexts, o.local);
  const stage = await mkdtemp(join(tmpdir(), "ktsw-sim-tree-"));
  try {
    for (const [p, bytes] of contents) {
      await mkdir(dirname(join(stage, p)), { recursive: true });
      const edited = files.get(p);
      await writeFile(join(stage, p), edited !== undefined && edited !== yamlTexts.get(p) ? edited : bytes);
    }
    const message = `ktsw sim: ${treeDir}/ of the working tree at ${await describeWorkingTree(o.repoRoot, treeDir)}, sources redirected to the sim`;
    const commit = await commitFolder(join(o.gitRepos, TREE_REPO), stage, redirected.treeBranch, message);
    return { ...commit, ...redirected };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** A local repository for each offline upstream copy, its files where upstream has them and its tag on the commit;
 *  a tag already there is kept (an offline copy does not change while the sim runs). */
export async function writeUpstreamRepos(gitRepos: string, copies: readonly OfflineSource[]): Promise<void> {
  for (const copy of copies) {
    const gitDir = join(gitRepos, upstreamRepoPath(copy.repo));
    if (await revision(gitDir, `refs/tags/${copy.tag}`)) continue;
    const stage = await mkdtemp(join(tmpdir(), "ktsw-sim-upstream-"));
    try {
      await cp(copy.dir, join(stage, copy.path), { recursive: true });
      const message = `ktsw sim: the offline copy of ${copy.repo} at ${copy.tag} (${copy.path || "the repository root"})`;
      const { commit } = await commitFolder(gitDir, stage, "main", message);
      await git(["--git-dir", gitDir, "update-ref", `refs/tags/${copy.tag}`, commit]);
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }
}
