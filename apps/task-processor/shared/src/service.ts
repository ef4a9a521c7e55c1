import type { Logger } from "./logger.ts";

/**
 * Runs `stop` once on SIGTERM/SIGINT (Kubernetes sends SIGTERM, then SIGKILL after the grace
 * period), logging the outcome; a second signal exits at once.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "shutting down: draining");
    stop()
      .then(() => {
        logger.info("stopped cleanly");
        process.exit(0);
      })
      .catch((err) => {
        logger.error({ err }, "unclean shutdown");
        process.exit(1);
      });
  };
  process.once("SIGTERM", handler);
  process.once("SIGINT", handler);
}

/** Prints a start-up failure (e.g. bad config) as one clear line, without a stack trace. */
export function fatal(err: unknown): never {
  console.error(JSON.stringify({ level: 60, msg: "failed to start", error: (err as Error).message }));
  process.exit(1);
}
