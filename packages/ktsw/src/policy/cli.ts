// Manual entry: `npx tsx packages/ktsw/src/policy/cli.ts <files...>` checks Kubernetes YAML files
// against every Gatekeeper constraint in the repository (run from the repository root).
import { formatFinding, hasErrors, sortFindings } from "../diagnostics.ts";
import { checkPolicies } from "./check.ts";
import { policyInputsFromFiles } from "./inputs.ts";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: npx tsx packages/ktsw/src/policy/cli.ts <kubernetes-yaml-files...>");
  process.exit(2);
}
try {
  const findings = sortFindings(await checkPolicies(policyInputsFromFiles(files)));
  for (const f of findings) console.log(formatFinding(f));
  console.log(findings.length === 0 ? "policy: no violations" : `policy: ${findings.length} violation(s)`);
  process.exit(hasErrors(findings) ? 1 : 0);
} catch (err) {
  console.error(`policy: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
