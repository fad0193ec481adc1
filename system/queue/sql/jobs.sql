-- The job lifecycle: enqueue, claim, renew, complete, fail, cancel, and the
-- events each change writes in its own transaction (system/queue/jobstore.py).
-- Named blocks, loaded by system/queue/sql.py: a block starts with a line
-- `-- name --` and runs to the next such line.

-- insert_batch --
-- $1 project, $2 user, $3 model, $4 threshold, $5 number of jobs
INSERT INTO batches (project_id, user_id, model, threshold, total) VALUES ($1, $2, $3, $4, $5) RETURNING id;

-- insert_jobs --
-- One queued job per image of $7, in the order given.
INSERT INTO jobs (batch_id, image_id, project_id, user_id, model, threshold, max_attempts)
SELECT $1, image_id, $2, $3, $4, $5, $6 FROM unnest($7::bigint[]) WITH ORDINALITY AS t(image_id, n)
ORDER BY n
RETURNING id, batch_id, image_id, project_id;

-- claim_job --
-- Fair share, the job.started event and its NOTIFY in one statement (one round
-- trip, its own transaction).  Among users with runnable queued jobs, the one
-- with the fewest running jobs goes first, ties to the one served longest ago
-- (one never served, first); that user's oldest runnable job is taken with FOR
-- UPDATE SKIP LOCKED.  A job only starts if one of the $2 slots is free; the unique index
-- on running slots makes two concurrent claims of one slot fail (the loser
-- tries again), so the bound holds however many workers run.  No lock outlives
-- this statement's transaction.  Every step is an index lookup: the users are
-- walked in fair-share order by users_waiting (their counts are kept by the
-- jobs' triggers, migration 007) until one has a runnable job, and that job is
-- found by the user's queue index, in order, so a claim costs the same with ten
-- queued jobs or a million, and with four researchers waiting or a thousand
-- (tests/integration/test_claim_plan.py holds the plan).
-- (started_at uses clock_timestamp(), the moment the statement runs, so
-- [started_at, finished_at] lies inside the time the job held its slot.)
-- The lease token is the worker's own ($4): should the answer be lost (the connection
-- dies after the commit), the worker asks with it whether the claim went through
-- (claimed_with) instead of leaving the job in its slot until the lease runs out.
-- $1 worker name, $2 max running, $3 lease seconds, $4 lease token
WITH free_slot AS (
    SELECT s AS slot
    FROM generate_series(1, $2::int) AS s
    WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND slot = s)
    ORDER BY random()
    LIMIT 1
), candidate AS (
    -- users in fair-share order, each asked for its oldest runnable job (keyed by the user inside a lateral
    -- subquery, so the plan walks that user's queue index in order and stops at the first unlocked job);
    -- the walk stops at the first user who has one (users whose jobs all back off are passed over)
    SELECT head.id
    FROM users u
    CROSS JOIN LATERAL (
        SELECT j.id FROM jobs j
        WHERE j.user_id = u.id AND j.status = 'queued' AND j.run_after <= now()
        ORDER BY j.queued_at, j.id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    ) head
    WHERE u.queued > 0 AND EXISTS (SELECT 1 FROM free_slot)
    ORDER BY u.running, u.last_served_at NULLS FIRST, u.id
    LIMIT 1
), claimed AS (
    UPDATE jobs
    SET status = 'running', attempts = jobs.attempts + 1, started_at = clock_timestamp(), worker = $1,
        slot = (SELECT slot FROM free_slot), lease_token = $4::uuid,
        lease_expires_at = now() + make_interval(secs => $3::float8),
        error_code = NULL, error_message = NULL
    FROM candidate
    WHERE jobs.id = candidate.id
    RETURNING jobs.id, jobs.batch_id, jobs.image_id, jobs.project_id, jobs.user_id, jobs.model,
              jobs.threshold, jobs.attempts, jobs.max_attempts, jobs.lease_token
)
SELECT c.*, (SELECT data FROM images WHERE images.id = c.image_id) AS image,
       paraseg_emit(c.user_id, ARRAY['job.started'],
                    ARRAY[jsonb_build_object('project_id', c.project_id, 'batch_id', c.batch_id, 'job_id', c.id,
                                             'image_id', c.image_id, 'status', 'running', 'attempt', c.attempts)]) AS seqs
FROM claimed c;

-- claimed_with --
-- The job a claim with lease token $1 started, if that claim committed and the job is still
-- running under it; no row if the claim never committed (or the lease was taken back since).
SELECT j.id, j.batch_id, j.image_id, j.project_id, j.user_id, j.model, j.threshold, j.attempts, j.max_attempts, j.lease_token,
       (SELECT data FROM images WHERE images.id = j.image_id) AS image
FROM jobs j
WHERE j.status = 'running' AND j.lease_token = $1::uuid;

-- written_but_running --
-- Of the jobs a worker wrote a result or a failure for ($1 their ids, $2 the lease tokens they were written
-- under), those running under that lease again: the database acknowledged the write and lost it (a failover
-- to a replica that lacked the last commits).  The worker writes them again at once.
SELECT j.id, j.lease_token
FROM unnest($1::bigint[], $2::uuid[]) AS w(id, token)
JOIN jobs j ON j.id = w.id AND j.lease_token = w.token
WHERE j.status = 'running';

-- renew_lease --
UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::float8)
WHERE id = $1 AND lease_token = $2 AND status = 'running'
RETURNING id;

-- complete_job --
-- Store the result, mark the job succeeded, finish its batch if that was its last
-- open job, and write the events: one round trip (routines/complete_job.sql).
-- False, and nothing written, when $2 is no longer the job's lease.
-- $3 model used, $4 mask PNG, $5 outlines, $6 the spheroids' measurements
SELECT paraseg_complete_job($1, $2, $3, $4, $5::jsonb, $6::jsonb);

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

-- hand_back_job --
-- A stopping worker gives back a job it could not finish within its grace period: queued again
-- at once and the attempt not charged, as though it had never been claimed.  No row when $2 is
-- no longer the job's lease (it was taken over, or it ended meanwhile).
UPDATE jobs
SET status = 'queued', attempts = attempts - 1, run_after = now(),
    slot = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE id = $1 AND status = 'running' AND lease_token = $2
RETURNING id, batch_id, image_id, project_id, user_id, status, attempts;

-- expired_leases --
-- By researcher: taking each job back updates its researcher's counters (migration 007), and two sweeps
-- that lock researchers in the same order cannot wait on each other.
SELECT id FROM jobs
WHERE status = 'running' AND lease_expires_at < now()
ORDER BY user_id, id
FOR UPDATE SKIP LOCKED;

-- lock_batch --
-- The batch row, locked: a cancel sees its owner, and no job's end finishes the batch meanwhile.
SELECT id, user_id, project_id, cancelled_at, finished_at FROM batches WHERE id = $1 FOR UPDATE;

-- cancel_queued_jobs --
UPDATE jobs SET status = 'cancelled', finished_at = now()
WHERE batch_id = $1 AND status = 'queued'
RETURNING id, batch_id, image_id, project_id, user_id, status;

-- mark_batch_cancelled --
UPDATE batches SET cancelled_at = now() WHERE id = $1 AND cancelled_at IS NULL;

-- close_batch --
-- Finish the batch if it has no open job left; its batch.completed body, or NULL (routines/events.sql).
SELECT paraseg_close_batch($1);

-- emit_events --
-- Append events ($2 types, $3 JSON bodies) to user $1's stream with the next seqs,
-- and wake the API processes (routines/events.sql).
SELECT paraseg_emit($1, $2::text[], $3::text[]::jsonb[]) AS seqs;

-- notify_jobs --
SELECT pg_notify('paraseg_jobs', '');

-- heartbeat --
-- $1 worker name, $2 the jobs it is running, $3 the lease tokens of claims it sent whose answer it has not read.
INSERT INTO workers (name, last_seen, holding, claiming) VALUES ($1, now(), $2::bigint[], $3::uuid[])
ON CONFLICT (name) DO UPDATE SET last_seen = now(), holding = $2::bigint[], claiming = $3::uuid[];

-- forget_worker --
DELETE FROM workers WHERE name = $1;
