// The "before" side of `ktsw diff`: the repository at a git ref, written to a temp folder through a
// temp index (read-tree + checkout-index), so neither the user's working tree, nor their index, nor
// their list of worktrees is touched. The caller owns the temp folder and removes it.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { requireTool } from "../tools/find.ts";

/** A ref that names no commit, or a folder outside any repository: the user's input, said plainly. */
export class BadRef extends Error {
  override name = "BadRef";
}

function git(args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const bin = requireTool("git");
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(stderr.trim() || err.message)) : resolve(stdout.trim()),
    );
  });
}

/** The top folder of the repository holding `dir`. */
export async function repositoryTop(dir: string): Promise<string> {
  try {
    return await git(["rev-parse", "--show-toplevel"], dir);
  } catch {
    throw new BadRef(`${dir} is not inside a git repository`);
  }
}

/** The commit `ref` names in the repository at `top`; BadRef when it names none. */
export async function resolveCommit(top: string, ref: string): Promise<string> {
  if (ref.trim() === "") throw new BadRef("the git ref is empty");
  try {
    return await git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], top);
  } catch {
    throw new BadRef(`"${ref}" is not a commit in ${top} (a branch, tag or commit id, e.g. main or HEAD~1)`);
  }
}

/** Writes the repository at `commit` into `work` (a folder the caller made and removes); returns its root. */
export async function checkoutCommit(top: string, commit: string, work: string): Promise<string> {
  const dir = join(work, "tree");
  const env = { GIT_INDEX_FILE: join(work, "index") };
  await git(["read-tree", commit], top, env);
  await git(["checkout-index", "--all", "--force", `--prefix=${dir}/`], top, env);
  return dir;
}
