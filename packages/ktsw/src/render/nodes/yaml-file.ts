// Every YAML file this renderer writes starts with the same notice, so whoever opens one on a node
// or in the repository knows where it comes from and that editing it by hand is pointless.
import { stringify } from "yaml";

export const renderedNotice =
  "# Rendered by `ktsw render` from ktsw.yaml; do not edit by hand (`ktsw render --check` fails on drift).";

/** YAML text after header comments. lineWidth 0: long flags (cipher suites) stay on one line. */
export function yamlFile(value: unknown, headerLines: string[] = []): string {
  return `${[...headerLines, renderedNotice].join("\n")}\n${stringify(value, { lineWidth: 0 })}`;
}
