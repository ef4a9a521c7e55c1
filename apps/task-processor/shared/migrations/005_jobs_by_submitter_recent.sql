-- The dashboard lists a caller's newest jobs (GET /v1/jobs) and their dead letters
-- (status=failed): both read the newest entries of one submitter, whatever the table's size.
CREATE INDEX jobs_by_submitter_recent ON jobs (submitted_by, created_at DESC, id DESC);
CREATE INDEX jobs_failed_by_submitter_recent ON jobs (submitted_by, created_at DESC, id DESC) WHERE status = 'failed';
