// Every file Flux applies starts with a `# yaml-language-server: $schema=` line, so an editor
// validates it while it is being written (the same schemas validate uses). A warning: the cluster
// does not care, people do.
import { type Finding, finding } from "../diagnostics.ts";
import { groupOf } from "./flux.ts";
import { CONSTRAINTS_GROUP } from "./tree-kinds.ts";
import type { AppliedObject } from "./walk.ts";

const HEADER = /^# yaml-language-server: \$schema=\S+/;

export function checkSchemaHeaders(objects: readonly AppliedObject[], texts: ReadonlyMap<string, string>): Finding[] {
  // Gatekeeper constraint kinds are generated in the cluster: there is no schema URL to name.
  const files = new Set(
    objects.flatMap((a) => (a.source && groupOf(a.object) !== CONSTRAINTS_GROUP ? [a.source.file] : [])),
  );
  return [...files]
    .filter((file) => !HEADER.test(texts.get(file) ?? ""))
    .map((file) =>
      finding(
        { file, line: 1, col: 1 },
        "first line should be `# yaml-language-server: $schema=<url>` (editor validation)",
        "yaml.schema-header",
        "warning",
      ),
    );
}
