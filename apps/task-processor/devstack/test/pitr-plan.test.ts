import { execFileSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import {
  archiveCommand,
  backupArgs,
  bucketOf,
  type DrillReport,
  explainBarmanFailure,
  formatSteps,
  newestBackupId,
  type ObjectStore,
  recoverySettings,
  restoreArgs,
  restoreCommand,
  restoreProblems,
  shellQuote,
  treeObjectStore,
} from "../src/pitr/plan.ts";

// The data drill's pure half: the command lines and settings it gives barman-cloud and PostgreSQL,
// and how it judges a restore.

const store: ObjectStore = {
  ...treeObjectStore,
  endpointUrl: "http://127.0.0.1:9000",
  accessKeyId: "key",
  secretAccessKey: "it's secret",
};
const tools = { walArchive: "/venv/bin/barman-cloud-wal-archive", walRestore: "/venv/bin/barman-cloud-wal-restore" };

describe("barman-cloud command lines", () => {
  test("name the tree's bucket and server as the plugin's ObjectStore does: s3://cnpg-backups, serverName task-db", () => {
    expect(bucketOf(treeObjectStore.destinationPath)).toBe("cnpg-backups");
    expect(backupArgs(store, { port: 5433, user: "app" })).toEqual([
      ...["--cloud-provider", "aws-s3", "--endpoint-url", "http://127.0.0.1:9000", "--immediate-checkpoint"],
      ...["-h", "127.0.0.1", "-p", "5433", "-U", "app", "-d", "postgres", "s3://cnpg-backups", "task-db"],
    ]);
    expect(restoreArgs(store, "20261130T172946", "/tmp/data").slice(-4)).toEqual([
      "s3://cnpg-backups",
      "task-db",
      "20261130T172946",
      "/tmp/data",
    ]);
    expect(() => bucketOf("/not/s3")).toThrow("is not an s3://<bucket> path");
  });

  test("archive and restore commands carry the credentials, quoted, and leave PostgreSQL's placeholders to it", () => {
    expect(archiveCommand(store, tools)).toBe(
      "env AWS_ACCESS_KEY_ID=key AWS_SECRET_ACCESS_KEY='it'\\''s secret' /venv/bin/barman-cloud-wal-archive --cloud-provider aws-s3 --endpoint-url http://127.0.0.1:9000 s3://cnpg-backups task-db %p",
    );
    expect(
      restoreCommand(store, tools).endsWith(
        "barman-cloud-wal-restore --cloud-provider aws-s3 --endpoint-url http://127.0.0.1:9000 s3://cnpg-backups task-db %f %p",
      ),
    ).toBe(true);
  });

  test("a quoted string is read back by the shell as exactly itself", () => {
    for (const s of ["plain", "it's", "a b", "$HOME", "`x`", '"q"', "", "%p"]) {
      expect(execFileSync("sh", ["-c", `printf %s ${shellQuote(s)}`], { encoding: "utf8" })).toBe(s);
    }
  });
});

describe("recovery settings", () => {
  test("to a time: restore_command, that target inclusive, then promote; archiving off", () => {
    expect(recoverySettings(store, tools, { time: "2026-11-30 17:29:46.989685+00" })).toEqual({
      restore_command: restoreCommand(store, tools),
      archive_mode: "off",
      full_page_writes: "on",
      recovery_target_time: "2026-11-30 17:29:46.989685+00",
      recovery_target_inclusive: "on",
      recovery_target_action: "promote",
    });
  });

  test("latest: no target at all, so recovery replays every archived segment and then promotes", () => {
    const latest = recoverySettings(store, tools, "latest");
    expect(Object.keys(latest).filter((k) => k.startsWith("recovery_target"))).toEqual([]);
    expect(latest.restore_command).toBe(restoreCommand(store, tools));
  });
});

describe("reading barman-cloud's answers", () => {
  test("the newest finished backup of the list", () => {
    const list = JSON.stringify({
      backups_list: [
        { backup_id: "20261130T170000", status: "DONE" },
        { backup_id: "20261130T180000", status: "DONE" },
        { backup_id: "20261130T190000", status: "FAILED" },
      ],
    });
    expect(newestBackupId(list)).toBe("20261130T180000");
    expect(() => newestBackupId(JSON.stringify({ backups_list: [] }))).toThrow("no finished base backup");
  });

  test("a failure is told in S3 terms: unreachable, or credentials refused", () => {
    expect(explainBarmanFailure('Could not connect to the endpoint URL: "http://127.0.0.1:1/b"', store)).toBe(
      "the S3 server at http://127.0.0.1:9000 is unreachable",
    );
    expect(
      explainBarmanFailure("An error occurred (403) when calling the HeadBucket operation: Forbidden", store),
    ).toBe("the S3 server at http://127.0.0.1:9000 refused the credentials");
    expect(explainBarmanFailure("something else", store)).toBe("barman-cloud failed");
  });
});

describe("judging the restores", () => {
  const exact: DrillReport = {
    steps: [],
    targetTime: "T",
    rowsBefore: [1, 2],
    rowsAfter: [3, 4],
    atTarget: { rows: [1, 2], log: [] },
    latest: { rows: null, log: ["destroyed"] },
    folders: [],
  };

  test("exact: the rows up to the target, none after; latest replays the destruction", () => {
    expect(restoreProblems(exact)).toEqual([]);
  });

  test("a row after the target, a missing row, a replayed destruction or a latest short of it are each named", () => {
    expect(restoreProblems({ ...exact, atTarget: { rows: [1, 2, 3], log: [] } })).toEqual([
      "restore to T: expected rows 1..2 exactly, got 3 rows (1..3)",
    ]);
    expect(restoreProblems({ ...exact, atTarget: { rows: null, log: ["destroyed"] } })).toEqual([
      "restore to T: expected rows 1..2 exactly, got no table",
      "restore to T: the destruction was replayed",
    ]);
    expect(restoreProblems({ ...exact, latest: { rows: [1, 2, 3, 4], log: [] } })).toEqual([
      "restore latest: the dropped table is back (4 rows (1..4))",
      "restore latest: the last commit (the destruction) is missing",
    ]);
  });

  test("the step table has one row per step, seconds to the hundredth", () => {
    expect(formatSteps([{ step: "base backup", seconds: 9.351 }]).split("\n")).toEqual([
      "| step        | seconds |",
      "|-------------|---------|",
      "| base backup |    9.35 |",
    ]);
  });
});
