import { parseArgs } from "node:util";
import { MissingTool } from "@ktsw/cli/tools";
import { runDrill } from "./drill.ts";
import { formatSteps, restoreProblems } from "./plan.ts";

// `npm run drill:data [-- --rows 1000]`: point-in-time recovery with barman-cloud against a local
// SeaweedFS, PostgreSQL restored to a time and to the latest WAL; prints step | seconds. With
// --endpoint-url (and the keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) it uses that S3 server
// instead of starting one. Exits 1 when a step fails or a restore is not exact, 3 when a program is missing.
const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "100" },
    "endpoint-url": { type: "string" },
  },
});
const s3 = values["endpoint-url"]
  ? {
      endpointUrl: values["endpoint-url"],
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "",
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "",
    }
  : undefined;
try {
  const report = await runDrill({ rows: Number(values.rows), log: (l) => console.error(l), ...(s3 ? { s3 } : {}) });
  console.log(formatSteps(report.steps));
  const problems = restoreProblems(report);
  for (const p of problems) console.error(`✗ ${p}`);
  if (problems.length === 0) {
    console.log(
      `\n✓ restore to ${report.targetTime}: rows ${report.rowsBefore[0]}..${report.rowsBefore.at(-1)} exactly`,
    );
    console.log("✓ restore latest: every archived commit, the destruction included (the table is gone)");
  }
  process.exitCode = problems.length === 0 ? 0 : 1;
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = err instanceof MissingTool || (err instanceof Error && err.cause instanceof MissingTool) ? 3 : 1;
}
