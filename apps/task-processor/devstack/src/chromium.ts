// Headless Chromium (Debian's, driven by playwright-core) as the tests launch it: no sandbox (tests
// run as root), nothing that reaches out on its own (updates, sync, QUIC), a fresh profile each launch.
import { findTool, whyMissing } from "@ktsw/cli/tools";
import { type Browser, chromium } from "playwright-core";

/** Why Chromium cannot run here, or undefined when it can. */
export const chromiumMissing = (): string | undefined => whyMissing(["chromium"]);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: findTool("chromium"),
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
