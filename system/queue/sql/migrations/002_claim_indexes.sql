-- 002: indexes that keep claiming and finishing jobs independent of queue length.

-- "Does this batch still have work?" answered from the open jobs only.
CREATE INDEX jobs_open_by_batch ON jobs (batch_id) WHERE status IN ('queued', 'running');
