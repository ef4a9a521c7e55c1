// Locations shared by the policy tests.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GATEKEEPER_DIR } from "../../src/policy/templates.ts";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../../..");
export const gatekeeperDir = join(repoRoot, GATEKEEPER_DIR);
export const policiesDir = join(gatekeeperDir, "policies");
export const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
