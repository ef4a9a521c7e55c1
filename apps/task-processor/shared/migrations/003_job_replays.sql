-- How often a failed (dead-lettered) job was sent back to the queue by hand: each replay is a new
-- JetStream message whose id carries this number, so a retried replay request publishes nothing new.
ALTER TABLE jobs ADD COLUMN replays integer NOT NULL DEFAULT 0;
