-- Jobs as the gateway records them and the worker moves them through their states.
CREATE TABLE jobs (
  id           uuid PRIMARY KEY,
  type         text NOT NULL,
  payload      jsonb NOT NULL,
  status       text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  attempts     integer NOT NULL DEFAULT 0,
  result       jsonb,
  error        text,
  submitted_by text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_status_updated_at ON jobs (status, updated_at);

-- The job's effect, written once: the primary key makes a redelivered message a no-op.
CREATE TABLE job_results (
  job_id     uuid PRIMARY KEY REFERENCES jobs (id),
  output     jsonb NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now()
);
