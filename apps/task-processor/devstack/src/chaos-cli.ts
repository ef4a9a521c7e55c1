import { parseArgs } from "node:util";
import { defaultSettings, type ExperimentResult, formatResults, runExperiment } from "./chaos.ts";
import { EXPERIMENTS, FINDINGS } from "./experiments.ts";

// `npm run chaos:local [-- --jobs 10000 --outage-s 60 --only "PostgreSQL outage"]`: every
// experiment at full size, then the findings (known ways to lose jobs, shown, never failing), then
// the table. Exits 1 if an experiment lost, duplicated or left queued a job, crashed a process, or
// broke a promise of its own.
const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: String(defaultSettings.jobs) },
    "outage-s": { type: "string", default: String(defaultSettings.outageMs / 1000) },
    only: { type: "string" },
  },
});
const settings = { ...defaultSettings, jobs: Number(values.jobs), outageMs: Number(values["outage-s"]) * 1000 };
const all = [...EXPERIMENTS, ...FINDINGS];
const chosen = all.filter((e) => !values.only || e.name === values.only);
if (chosen.length === 0) {
  console.error(`no experiment named ${values.only}; one of: ${all.map((e) => e.name).join(", ")}`);
  process.exit(2);
}
const results: ExperimentResult[] = [];
for (const exp of chosen) {
  console.error(`running: ${exp.name} (${settings.jobs} jobs)`);
  results.push(await runExperiment(exp, settings));
}
console.log(formatResults(results));
if (results.some((r) => !r.finding && r.lost + r.duplicated + r.stuck + r.crashes + r.violations.length > 0))
  process.exitCode = 1;
