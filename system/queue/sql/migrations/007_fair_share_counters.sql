-- 007: each researcher's place in the fair share, kept as jobs change instead of counted at every claim.
-- The claim reads the next researcher from one index (users_waiting) whatever the number waiting, and
-- GET /api/queue sums the counters of those waiting instead of counting the queue.

ALTER TABLE users
    ADD COLUMN queued         integer NOT NULL DEFAULT 0 CHECK (queued >= 0),   -- jobs queued (runnable or backing off)
    ADD COLUMN running        integer NOT NULL DEFAULT 0 CHECK (running >= 0),  -- jobs running
    ADD COLUMN last_served_at timestamptz;                                      -- when a claim last started one of their jobs

UPDATE users u
SET queued = c.queued, running = c.running, last_served_at = c.served
FROM (SELECT user_id, count(*) FILTER (WHERE status = 'queued') AS queued,
             count(*) FILTER (WHERE status = 'running') AS running, max(started_at) AS served
      FROM jobs GROUP BY user_id) c
WHERE c.user_id = u.id;

-- The fair-share order: fewest running first, then whoever was served longest ago (never: first).
CREATE INDEX users_waiting ON users (running, last_served_at NULLS FIRST, id) WHERE queued > 0;
-- Everyone's queued and running jobs (GET /api/queue), summed over the researchers who have any.
CREATE INDEX users_busy ON users (id) INCLUDE (queued, running) WHERE queued > 0 OR running > 0;

-- Keeps users.queued, users.running and users.last_served_at true to the jobs table, whatever statement
-- changes it (enqueue, claim, finish, retry, hand back, cancel, lease expiry, deletion).  A change of one job's
-- status (a claim, a finish, a retry: what runs per job) is counted by a row trigger that fires only when the
-- status changes (a lease renewal fires nothing): one increment of the owner's row.  Inserts and deletions,
-- which come in bulk (a batch of 50,000 queued at once), are counted once per statement from its transition
-- table, one update per researcher, in id order (two statements that touch the same researchers lock them in
-- the same order).  Counters move by increments, which a concurrent update of the same row re-applies on the
-- newest version, so they never drift.  (A statement-level trigger for updates too cost a third more
-- PostgreSQL time per job: its transition tables are built for every update, lease renewals included.)
CREATE FUNCTION paraseg_count_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    -- each branch names only the transition tables its operation has
    IF TG_OP = 'INSERT' THEN
        FOR r IN SELECT n.user_id, count(*) FILTER (WHERE n.status = 'queued')::int AS q,
                        count(*) FILTER (WHERE n.status = 'running')::int AS run, false AS started
                 FROM new_jobs n GROUP BY n.user_id ORDER BY n.user_id
        LOOP
            PERFORM paraseg_shift_counts(r.user_id, r.q, r.run, r.started);
        END LOOP;
    ELSIF TG_OP = 'DELETE' THEN
        FOR r IN SELECT o.user_id, -count(*) FILTER (WHERE o.status = 'queued')::int AS q,
                        -count(*) FILTER (WHERE o.status = 'running')::int AS run, false AS started
                 FROM old_jobs o GROUP BY o.user_id ORDER BY o.user_id
        LOOP
            PERFORM paraseg_shift_counts(r.user_id, r.q, r.run, r.started);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION paraseg_shift_counts(p_user bigint, p_queued int, p_running int, p_started boolean) RETURNS void
LANGUAGE sql AS $$
    UPDATE users
    SET queued = queued + p_queued, running = running + p_running,
        last_served_at = CASE WHEN p_started THEN clock_timestamp() ELSE last_served_at END
    WHERE id = p_user AND (p_queued <> 0 OR p_running <> 0 OR p_started);
$$;

CREATE TRIGGER jobs_counted_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION paraseg_count_jobs();

-- One job's status changed: its owner's counters move by one each way (and a claim stamps last_served_at).
CREATE FUNCTION paraseg_count_job_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users
    SET queued = queued + (NEW.status = 'queued')::int - (OLD.status = 'queued')::int,
        running = running + (NEW.status = 'running')::int - (OLD.status = 'running')::int,
        last_served_at = CASE WHEN NEW.status = 'running' AND OLD.status = 'queued' THEN clock_timestamp() ELSE last_served_at END
    WHERE id = NEW.user_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_counted_update AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION paraseg_count_job_row();
CREATE TRIGGER jobs_counted_delete AFTER DELETE ON jobs REFERENCING OLD TABLE AS old_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION paraseg_count_jobs();
