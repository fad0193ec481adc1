-- Appending to a user's event stream and closing a finished batch: the one source
-- of both, used by the statements in jobs.sql and by paraseg_complete_job.
-- Routines are applied by every process at start, after the migrations
-- (CREATE OR REPLACE); see system/queue/sql.py.

-- Append events (types, bodies, in order) to user p_user's stream with the next
-- seqs, and wake the API processes; returns the seqs.  The user row lock lasts to
-- the end of the transaction, so a user's events commit in the order of their numbers.
CREATE OR REPLACE FUNCTION paraseg_emit(p_user bigint, p_types text[], p_bodies jsonb[])
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last_seq bigint;
    n int := cardinality(p_types);
BEGIN
    IF n = 0 THEN
        RETURN ARRAY[]::bigint[];
    END IF;
    UPDATE users SET event_seq = event_seq + n WHERE id = p_user RETURNING event_seq INTO last_seq;
    INSERT INTO events (user_id, seq, type, body)
    SELECT p_user, last_seq - n + e.i, e.t, e.b
    FROM unnest(p_types, p_bodies) WITH ORDINALITY AS e(t, b, i);
    PERFORM pg_notify('paraseg_events', p_user::text);
    RETURN ARRAY(SELECT s FROM generate_series(last_seq - n + 1, last_seq) AS s);
END
$$;

-- Finish batch p_batch if none of its jobs is queued or running any more; returns
-- the body of its batch.completed event, or NULL when it is not finished now (jobs
-- still open, or finished before).  Call it after the job rows changed, in the same
-- transaction.  The batch row is locked so that exactly one transaction sees its
-- last job end, and the check is a statement of its own: a VOLATILE function takes
-- a new snapshot for each, so it sees every job that a transaction holding the lock
-- before us committed (in one statement the snapshot would predate the wait, and the
-- last two jobs to finish at once would each see the other still running).
CREATE OR REPLACE FUNCTION paraseg_close_batch(p_batch bigint)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    b record;
BEGIN
    SELECT id, project_id, cancelled_at, finished_at INTO b FROM batches WHERE id = p_batch FOR UPDATE;
    IF b.finished_at IS NOT NULL
       OR EXISTS (SELECT 1 FROM jobs WHERE batch_id = p_batch AND status IN ('queued', 'running')) THEN
        RETURN NULL;
    END IF;
    UPDATE batches SET finished_at = clock_timestamp() WHERE id = p_batch;  -- as the jobs': never before its last job
    RETURN jsonb_build_object('project_id', b.project_id, 'batch_id', b.id, 'job_id', NULL, 'image_id', NULL,
                              'status', CASE WHEN b.cancelled_at IS NULL THEN 'completed' ELSE 'cancelled' END);
END
$$;
