-- A job's success in one round trip (jobs.sql, complete_job; system/queue/jobstore.py).
-- Routines are applied by every process at start, after the migrations
-- (CREATE OR REPLACE), so this file is their one source.
--
-- Store the result and mark the job succeeded, only while p_lease is still its
-- lease; when that was its batch's last open job, finish the batch; append the
-- events (job.succeeded, then batch.completed) to the user's stream and wake the
-- API processes.  Lock order as everywhere: job row, batch row, user row.
CREATE OR REPLACE FUNCTION paraseg_complete_job(p_job bigint, p_lease uuid, p_model text, p_mask bytea,
                                                p_polygons jsonb, p_measurements jsonb)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    j record;
    b record;
    types text[];
    bodies jsonb[];
    last_seq bigint;
BEGIN
    UPDATE jobs
    SET status = 'succeeded', model_used = p_model, finished_at = clock_timestamp(),
        slot = NULL, lease_token = NULL, lease_expires_at = NULL
    WHERE id = p_job AND lease_token = p_lease AND status = 'running'
    RETURNING id, batch_id, image_id, project_id, user_id INTO j;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO results (job_id, image_id, model_used, mask_png, polygons, measurements)
    VALUES (j.id, j.image_id, p_model, p_mask, p_polygons, p_measurements);
    types := ARRAY['job.succeeded'];
    bodies := ARRAY[jsonb_build_object('project_id', j.project_id, 'batch_id', j.batch_id, 'job_id', j.id,
                                       'image_id', j.image_id, 'status', 'succeeded', 'model_used', p_model)];

    -- The batch row, locked so that exactly one transaction sees its last job end.
    -- The check is a statement of its own: a VOLATILE function takes a new snapshot
    -- for each, so it sees every job that a transaction holding the lock before us
    -- committed (in one statement the snapshot would predate the wait, and the last
    -- two jobs to finish at once would each see the other still running).
    SELECT id, user_id, project_id, cancelled_at, finished_at INTO b FROM batches WHERE id = j.batch_id FOR UPDATE;
    IF b.finished_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM jobs WHERE batch_id = b.id AND status IN ('queued', 'running')) THEN
        UPDATE batches SET finished_at = clock_timestamp() WHERE id = b.id;
        types := array_append(types, 'batch.completed');
        bodies := array_append(bodies, jsonb_build_object(
            'project_id', b.project_id, 'batch_id', b.id, 'job_id', NULL, 'image_id', NULL,
            'status', CASE WHEN b.cancelled_at IS NULL THEN 'completed' ELSE 'cancelled' END));
    END IF;

    -- As emit_events: the user's next seqs; the user row lock lasts to the end of
    -- the transaction, so a user's events commit in the order of their numbers.
    UPDATE users SET event_seq = event_seq + cardinality(types) WHERE id = j.user_id RETURNING event_seq INTO last_seq;
    INSERT INTO events (user_id, seq, type, body)
    SELECT j.user_id, last_seq - cardinality(types) + e.n, e.t, e.b
    FROM unnest(types, bodies) WITH ORDINALITY AS e(t, b, n);
    PERFORM pg_notify('paraseg_events', j.user_id::text);
    RETURN true;
END
$$;
