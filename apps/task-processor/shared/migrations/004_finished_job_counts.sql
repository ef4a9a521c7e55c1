-- How many jobs finished (succeeded, failed) with updated_at up to `watermark`: /v1/stats adds the
-- rows newer than the watermark to these counts instead of counting the whole table. Stats loads
-- move the watermark forward (shared/src/job-counts.ts explains the bound that makes that exact);
-- a replay of a failed job that is already counted here takes it out again. One row, ever. Anything
-- that deletes finished jobs must lower these counts in the same transaction.
CREATE TABLE finished_job_counts (
  only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  watermark timestamptz NOT NULL,
  -- No CHECK (>= 0): a count off by one must never make a replay fail.
  succeeded bigint NOT NULL,
  failed    bigint NOT NULL
);
-- Nothing counted yet: the first stats load rolls every finished job up once.
INSERT INTO finished_job_counts (watermark, succeeded, failed) VALUES ('-infinity', 0, 0);
