-- The gateway's per-submitter limit counts a submitter's queued and running jobs on every POST:
-- this index holds only those, so the count never walks finished jobs.
CREATE INDEX jobs_active_by_submitter ON jobs (submitted_by) WHERE status IN ('queued', 'running');
