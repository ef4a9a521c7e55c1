// The lab's only way to touch the system: run a program, fail loudly with its stderr.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export async function run(
  cmd: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  try {
    const child = execFileAsync(cmd, args, { env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 });
    if (options.input !== undefined) {
      child.child.stdin?.end(options.input);
    }
    const { stdout } = await child;
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${(e.stderr ?? "").trim() || e.message}`);
  }
}

export async function tryRun(cmd: string, args: string[]): Promise<boolean> {
  try {
    await run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

export const ip = (...args: string[]) => run("ip", args);
export const inNs = (ns: string, cmd: string, ...args: string[]) => run("ip", ["netns", "exec", ns, cmd, ...args]);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a value (not undefined) or the attempts run out. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  attempts = 100,
  everyMs = 100,
): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`gave up waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
