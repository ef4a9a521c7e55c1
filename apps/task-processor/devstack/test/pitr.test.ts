import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DrillStepError, runDrill, whyDrillCannotRun } from "../src/pitr/drill.ts";
import { formatSteps, restoreProblems } from "../src/pitr/plan.ts";
import { freePort } from "../src/servers.ts";

// Point-in-time recovery, really: PostgreSQL 15 archiving its WAL with barman-cloud-wal-archive to a
// local S3 server, a base backup with barman-cloud-backup, rows written, the data destroyed, then two
// restores from the object store into fresh data directories (barman-cloud-restore, restore_command
// = barman-cloud-wal-restore, recovery.signal): to the commit time of the first rows, and to the
// latest archived WAL. The same drill `npm run drill:data` runs.

const skip = await whyDrillCannotRun();
if (skip) console.warn(`\n!!! data drill (PITR) tests SKIPPED: ${skip}\n`);

describe.skipIf(skip)("the data drill", () => {
  test("restored to the target time, the rows committed up to it are back exactly; latest replays up to the destruction", async () => {
    const report = await runDrill({ rows: 50, log: (l) => console.log(l) });
    console.log(formatSteps(report.steps));
    // Up to the target: exactly the first 50 rows, none of the 50 committed after it, the table not dropped.
    expect(report.atTarget.rows).toEqual(report.rowsBefore);
    expect(report.atTarget.rows).not.toContain(report.rowsAfter[0]);
    expect(report.atTarget.log).toEqual([]);
    // Latest: every archived commit, the destruction (the DROP and its log line, one transaction) included.
    expect(report.latest.rows).toBeNull();
    expect(report.latest.log).toEqual(["destroyed"]);
    expect(restoreProblems(report)).toEqual([]);
    const restores = report.steps.filter((s) => s.step.startsWith("restore"));
    expect(restores.map((s) => s.step)).toEqual([
      `restore to ${report.targetTime}`,
      "restore latest (end of the archived WAL)",
    ]);
    for (const s of restores) console.log(`restore time: ${s.step}: ${s.seconds.toFixed(2)} s`);
    // S3, the primary and both restored servers, each in its own temp folder, all gone.
    expect(report.folders).toHaveLength(4);
    expect(report.folders.filter((f) => existsSync(f))).toEqual([]);
  }, 300_000);

  describe("bad input fails the step that met it, saying why", () => {
    // One attempt per S3 call: botocore's retries would only make the failure slower.
    const attempts = process.env.AWS_MAX_ATTEMPTS;
    beforeAll(() => {
      process.env.AWS_MAX_ATTEMPTS = "1";
    });
    afterAll(() => {
      if (attempts === undefined) delete process.env.AWS_MAX_ATTEMPTS;
      else process.env.AWS_MAX_ATTEMPTS = attempts;
    });

    const failure = (s3: { endpointUrl: string; accessKeyId: string; secretAccessKey: string }) =>
      runDrill({ s3 }).then(
        () => undefined,
        (err: unknown) => err,
      );

    test("an S3 server nobody listens on", async () => {
      const endpointUrl = `http://127.0.0.1:${await freePort()}`;
      const err = await failure({ endpointUrl, accessKeyId: "k", secretAccessKey: "s" });
      expect(err).toBeInstanceOf(DrillStepError);
      expect((err as DrillStepError).step).toBe("check the WAL archive (S3 reachable, credentials, empty)");
      expect((err as Error).message).toContain(`the S3 server at ${endpointUrl} is unreachable`);
    }, 120_000);

    test("an S3 server that refuses the credentials", async () => {
      // Answers every request as S3 answers an unknown access key (gofakes3 checks no signature).
      const refusing: Server = createServer((_req, res) => {
        res.writeHead(403, { "content-type": "application/xml" });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>',
        );
      });
      const port = await freePort();
      await new Promise<void>((r) => refusing.listen(port, "127.0.0.1", r));
      try {
        const endpointUrl = `http://127.0.0.1:${port}`;
        const err = await failure({ endpointUrl, accessKeyId: "wrong", secretAccessKey: "wrong" });
        expect(err).toBeInstanceOf(DrillStepError);
        expect((err as DrillStepError).step).toBe("check the WAL archive (S3 reachable, credentials, empty)");
        expect((err as Error).message).toContain(`the S3 server at ${endpointUrl} refused the credentials`);
      } finally {
        await new Promise((r) => refusing.close(r));
      }
    }, 120_000);
  });
});
