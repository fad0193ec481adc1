-- 004: each worker's own account of what it holds, written with its heartbeat: the
-- jobs it is running and the lease tokens of claims it sent whose answer it has not
-- read yet.  A running job that its worker does not list (a claim whose answer was
-- lost, a permit handed back too early) holds a slot nobody works on: operators and
-- the acceptance harness compare the two (docs/api.md, Processes).
ALTER TABLE workers ADD COLUMN holding bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE workers ADD COLUMN claiming uuid[] NOT NULL DEFAULT '{}';
