-- A job's success in one round trip (jobs.sql, complete_job; system/queue/jobstore.py).
-- Routines are applied by every process at start, after the migrations
-- (CREATE OR REPLACE); see system/queue/sql.py.
--
-- Store the result and mark the job succeeded, only while p_lease is still its
-- lease; when that was its batch's last open job, finish the batch; append the
-- events (job.succeeded, then batch.completed).  Returns false, and writes
-- nothing, when p_lease is no longer the job's lease.  Lock order as everywhere:
-- job row, batch row, user row.
CREATE OR REPLACE FUNCTION paraseg_complete_job(p_job bigint, p_lease uuid, p_model text, p_mask bytea,
                                                p_polygons jsonb, p_measurements jsonb)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    j record;
    closed jsonb;
    types text[] := ARRAY['job.succeeded'];
    bodies jsonb[];
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
    bodies := ARRAY[jsonb_build_object('project_id', j.project_id, 'batch_id', j.batch_id, 'job_id', j.id,
                                       'image_id', j.image_id, 'status', 'succeeded', 'model_used', p_model)];
    closed := paraseg_close_batch(j.batch_id);
    IF closed IS NOT NULL THEN
        types := array_append(types, 'batch.completed');
        bodies := array_append(bodies, closed);
    END IF;
    PERFORM paraseg_emit(j.user_id, types, bodies);
    RETURN true;
END
$$;
