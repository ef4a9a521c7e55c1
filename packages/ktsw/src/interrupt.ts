// Ctrl-C during a command that changed something must undo or finish that change before the process ends; the
// default SIGINT handling ends it at once and skips every `finally`. `interruptible` turns the first SIGINT or
// SIGTERM into an aborted signal the command's waits watch (see `poll`), so its `finally` blocks run; a second one
// ends the process at once, for a person who would rather leave things as they are.
export class Interrupted extends Error {
  override name = "Interrupted";
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted (${signal})`);
  }
}

export interface Interruption {
  signal: AbortSignal;
  /** The signal received, once one was. */
  received: () => NodeJS.Signals | undefined;
}

/** Runs `fn` with an AbortSignal aborted (with an `Interrupted` reason) by the first SIGINT or SIGTERM. `onFirst`
 *  says what the command does before it stops. The handlers are removed when `fn` settles. */
export async function interruptible<T>(
  fn: (i: Interruption) => Promise<T>,
  onFirst: (signal: NodeJS.Signals) => void = () => {},
): Promise<T> {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(130);
    received = signal;
    onFirst(signal);
    controller.abort(new Interrupted(signal));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await fn({ signal: controller.signal, received: () => received });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
