// Copies each policy's .rego (and the libs it imports) into its ConstraintTemplate YAML.
//   npx tsx packages/ktsw/src/policy/sync-templates.ts           rewrite templates
//   npx tsx packages/ktsw/src/policy/sync-templates.ts --check   exit 1 if any template is stale
import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { readPolicySources, syncTemplate } from "./templates.ts";

const check = process.argv.includes("--check");
const root = process.cwd();
let stale = 0;
for (const p of readPolicySources(root)) {
  const current = readFileSync(p.templateFile, "utf8");
  const wanted = syncTemplate(current, p.rego, p.libs);
  if (current === wanted) continue;
  stale++;
  if (check)
    console.error(`${relative(root, p.templateFile)}: embedded Rego differs from ${relative(root, p.regoFile)}`);
  else {
    writeFileSync(p.templateFile, wanted);
    console.log(`updated ${relative(root, p.templateFile)}`);
  }
}
if (check && stale > 0) process.exit(1);
