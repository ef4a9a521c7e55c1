// The JSON Schema editors use to complete and check ktsw.yaml. It does not depend on the site, but
// rendering it keeps it in step with the zod schema: `render --check` fails when they drift.
import { configJsonSchema } from "../config/schema.ts";

export const configSchemaPath = "packages/ktsw/schema/ktsw.schema.json";

export function renderConfigSchema(): Record<string, string> {
  return { [configSchemaPath]: `${JSON.stringify(configJsonSchema(), null, 2)}\n` };
}
