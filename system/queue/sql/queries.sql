-- Named statements, loaded by system/queue/sql.py.  A block starts with a line
-- `-- name --` and runs to the next such line.

-- claim_job --
-- (started_at and finished_at use clock_timestamp(): the moment the statement
-- runs, so [started_at, finished_at] lies inside the time the job held its slot.)
-- Fair share in one statement: among users with runnable queued jobs, the one
-- with the fewest running jobs goes first, ties to the one whose oldest queued
-- job has waited longest; within a user, first come first served.  A job only
-- starts if one of the $2 slots is free; the unique index on running slots makes
-- two concurrent claims of the same slot fail (the loser tries again), so the
-- bound holds however many workers run.  No lock is held beyond this statement.
-- $1 worker name, $2 max running, $3 lease seconds
WITH free_slot AS (
    SELECT s AS slot
    FROM generate_series(1, $2::int) AS s
    WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND slot = s)
    ORDER BY random()
    LIMIT 1
), running AS (
    SELECT user_id, count(*) AS n FROM jobs WHERE status = 'running' GROUP BY user_id
), waiting AS (
    SELECT user_id, min(queued_at) AS oldest
    FROM jobs WHERE status = 'queued' AND run_after <= now() GROUP BY user_id
), candidate AS (
    SELECT j.id
    FROM jobs j
    JOIN waiting w ON w.user_id = j.user_id
    LEFT JOIN running r ON r.user_id = j.user_id
    WHERE j.status = 'queued' AND j.run_after <= now() AND EXISTS (SELECT 1 FROM free_slot)
    ORDER BY coalesce(r.n, 0), w.oldest, j.queued_at, j.id
    LIMIT 1
    FOR UPDATE OF j SKIP LOCKED
)
UPDATE jobs
SET status = 'running', attempts = jobs.attempts + 1, started_at = clock_timestamp(), worker = $1,
    slot = (SELECT slot FROM free_slot), lease_token = gen_random_uuid(),
    lease_expires_at = now() + make_interval(secs => $3::float8),
    error_code = NULL, error_message = NULL
FROM candidate
WHERE jobs.id = candidate.id
RETURNING jobs.id, jobs.batch_id, jobs.image_id, jobs.project_id, jobs.user_id, jobs.model,
          jobs.threshold, jobs.attempts, jobs.max_attempts, jobs.lease_token;

-- renew_lease --
UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::float8)
WHERE id = $1 AND lease_token = $2 AND status = 'running'
RETURNING id;

-- complete_job --
UPDATE jobs
SET status = 'succeeded', model_used = $3, finished_at = clock_timestamp(),
    slot = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE id = $1 AND lease_token = $2 AND status = 'running'
RETURNING id, batch_id, image_id, project_id, user_id, status;

-- insert_result --
INSERT INTO results (job_id, image_id, model_used, mask_png, polygons)
VALUES ($1, $2, $3, $4, $5::jsonb);

-- fail_attempt --
-- The attempt failed: queue it again after a backoff, or end it failed when it
-- has had its attempts.  $2 is the lease the caller holds (NULL: lease expired).
UPDATE jobs
SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
    finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
    run_after = now() + make_interval(secs => $5::float8 * 2 ^ greatest(attempts - 1, 0)),
    error_code = $3, error_message = $4,
    slot = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE id = $1 AND status = 'running' AND ($2::uuid IS NULL OR lease_token = $2)
RETURNING id, batch_id, image_id, project_id, user_id, status;

-- expired_leases --
SELECT id FROM jobs
WHERE status = 'running' AND lease_expires_at < now()
ORDER BY id
FOR UPDATE SKIP LOCKED;

-- lock_batch --
SELECT id, user_id, project_id, cancelled_at, finished_at FROM batches WHERE id = $1 FOR UPDATE;

-- open_jobs_in_batch --
SELECT count(*) FROM jobs WHERE batch_id = $1 AND status IN ('queued', 'running');

-- finish_batch --
UPDATE batches SET finished_at = now() WHERE id = $1;

-- reserve_seqs --
-- Reserve $2 consecutive event numbers for user $1; returns the last one.  The
-- row lock it takes lasts to the end of the transaction, so a user's events
-- commit in the order of their numbers.
UPDATE users SET event_seq = event_seq + $2 WHERE id = $1 RETURNING event_seq;

-- insert_events --
INSERT INTO events (user_id, seq, type, body)
SELECT $1, s, t, b::jsonb FROM unnest($2::bigint[], $3::text[], $4::text[]) AS e(s, t, b);

-- notify_events --
SELECT pg_notify('paraseg_events', $1::text);

-- notify_jobs --
SELECT pg_notify('paraseg_jobs', '');

-- events_after --
SELECT seq, type, body, created_at FROM events
WHERE user_id = $1 AND seq > $2
ORDER BY seq
LIMIT $3;

-- batch_summary --
SELECT b.id, b.project_id, b.model, b.total, b.created_at, b.finished_at, b.cancelled_at,
       count(*) FILTER (WHERE j.status = 'queued') AS queued,
       count(*) FILTER (WHERE j.status = 'running') AS running,
       count(*) FILTER (WHERE j.status = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE j.status = 'failed') AS failed,
       count(*) FILTER (WHERE j.status = 'cancelled') AS cancelled
FROM batches b JOIN jobs j ON j.batch_id = b.id
WHERE b.id = $1 AND b.user_id = $2
GROUP BY b.id;

-- heartbeat --
INSERT INTO workers (name, last_seen) VALUES ($1, now())
ON CONFLICT (name) DO UPDATE SET last_seen = now();

-- forget_worker --
DELETE FROM workers WHERE name = $1;
