/**
 * `load`, run at most once per `ttlMs` however many callers ask: callers within the window share
 * the last answer, callers while a load runs share that load. A failed load is not kept, so the
 * next caller tries again. This bounds what `/v1/stats` costs the database to one aggregate per
 * replica per window, whatever the number of pollers.
 */
export function sharedFor<T>(load: () => Promise<T>, ttlMs: number, now: () => number = Date.now): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (last && now() - last.at < ttlMs) return last.value;
    const value = load();
    const entry = { at: now(), value };
    last = entry;
    value.catch(() => {
      if (last === entry) last = undefined;
    });
    return value;
  };
}
