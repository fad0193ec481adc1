-- Projects, images, results, jobs and the queue as researchers read them
-- (system/queue/store.py).  Every statement is scoped by the caller's user id
-- ($1), so another user's resource reads exactly as a missing one.

-- create_project --
INSERT INTO projects (user_id, name, pixel_size_um) VALUES ($1, $2, $3)
RETURNING id, name, pixel_size_um, created_at, 0::bigint AS image_count;

-- projects --
-- The caller's projects, or only project $2 when it is given.
SELECT p.id, p.name, p.pixel_size_um, p.created_at, (SELECT count(*) FROM images i WHERE i.project_id = p.id) AS image_count
FROM projects p
WHERE p.user_id = $1 AND ($2::bigint IS NULL OR p.id = $2)
ORDER BY p.id;

-- own_project --
SELECT EXISTS (SELECT 1 FROM projects WHERE id = $2 AND user_id = $1);

-- lock_own_project --
-- Held while images are added, so the project cannot vanish under the insert.
SELECT EXISTS (SELECT 1 FROM projects WHERE id = $2 AND user_id = $1 FOR SHARE);

-- insert_images --
-- All files of one upload in one statement, in the order they were sent.
INSERT INTO images (project_id, user_id, filename, content_type, width, height, data, pages)
SELECT $2, $1, f, c, w, h, d, pg
FROM unnest($3::text[], $4::text[], $5::int[], $6::int[], $7::bytea[], $8::int[]) WITH ORDINALITY AS u(f, c, w, h, d, pg, n)
ORDER BY n
RETURNING id, filename, width, height, pages;

-- images --
-- Images with their latest job, its outlines and spheroids counted: project $2's, or only image $3.
SELECT i.id, i.project_id, i.filename, i.width, i.height, i.pages,
       j.id AS job_id, j.status, j.model, j.model_used,
       jsonb_array_length(r.polygons) AS polygon_count,
       COALESCE(jsonb_array_length(r.measurements),  -- a result from before measurements were stored: count its outer outlines
                (SELECT count(*) FROM jsonb_array_elements(r.polygons) o WHERE o->>'type' = 'external')) AS spheroid_count
FROM images i
LEFT JOIN LATERAL (SELECT * FROM jobs WHERE jobs.image_id = i.id ORDER BY id DESC LIMIT 1) j ON true
LEFT JOIN results r ON r.job_id = j.id
WHERE i.user_id = $1 AND ($2::bigint IS NULL OR i.project_id = $2) AND ($3::bigint IS NULL OR i.id = $3)
ORDER BY i.id;

-- image_file --
SELECT data, content_type FROM images WHERE id = $2 AND user_id = $1;

-- own_image --
SELECT EXISTS (SELECT 1 FROM images WHERE id = $2 AND user_id = $1);

-- latest_mask --
-- The mask of the image's latest successful job (call own_image first).
SELECT mask_png FROM results WHERE image_id = $1 ORDER BY job_id DESC LIMIT 1;

-- latest_polygons --
SELECT job_id, model_used, polygons, measurements FROM results WHERE image_id = $1 ORDER BY job_id DESC LIMIT 1;

-- latest_measurements --
-- The image's latest result with its project's pixel size (call own_image first).
SELECT r.job_id, r.model_used, r.polygons, r.measurements, p.pixel_size_um
FROM results r JOIN images i ON i.id = r.image_id JOIN projects p ON p.id = i.project_id
WHERE r.image_id = $1 ORDER BY r.job_id DESC LIMIT 1;

-- result_mask --
SELECT mask_png FROM results WHERE job_id = $1;

-- store_description --
-- Outlines and measurements of a result stored before each outline named its spheroid (or before results
-- carried measurements), described again from its mask: once, then kept.
UPDATE results SET polygons = $2::jsonb, measurements = $3::jsonb WHERE job_id = $1;

-- project_measurements --
-- Every segmented image of project $2 with its latest result's measurements, by image id.
SELECT i.id AS image_id, i.filename, r.job_id, r.model_used, r.polygons, r.measurements, p.pixel_size_um
FROM projects p
JOIN images i ON i.project_id = p.id
JOIN LATERAL (SELECT * FROM results WHERE results.image_id = i.id ORDER BY job_id DESC LIMIT 1) r ON true
WHERE p.id = $2 AND p.user_id = $1
ORDER BY i.id;

-- project_image_ids --
-- Of project $2's images, those in $3 (all of them when $3 is NULL), by id.
SELECT id FROM images
WHERE project_id = $2 AND user_id = $1 AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
ORDER BY id;

-- job --
SELECT id, batch_id, image_id, status, model, model_used, attempts, worker, error_code, error_message,
       queued_at, started_at, finished_at
FROM jobs WHERE id = $2 AND user_id = $1;

-- queue_state --
-- $1's queued and running jobs, everyone's, and the workers seen lately: from the researchers' counters
-- (migration 007), so it costs the same however deep the queue is.
SELECT me.queued AS my_queued, me.running AS my_running, busy.queued, busy.running,
       (SELECT count(*) FROM workers WHERE last_seen > now() - make_interval(secs => $2::float8)) AS workers
FROM users me,
     (SELECT coalesce(sum(queued), 0) AS queued, coalesce(sum(running), 0) AS running
      FROM users WHERE queued > 0 OR running > 0) busy
WHERE me.id = $1;

-- batch_summary --
-- A batch with its jobs counted by status.
SELECT b.id, b.project_id, b.model, b.total, b.created_at, b.finished_at, b.cancelled_at,
       count(*) FILTER (WHERE j.status = 'queued') AS queued,
       count(*) FILTER (WHERE j.status = 'running') AS running,
       count(*) FILTER (WHERE j.status = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE j.status = 'failed') AS failed,
       count(*) FILTER (WHERE j.status = 'cancelled') AS cancelled
FROM batches b JOIN jobs j ON j.batch_id = b.id
WHERE b.user_id = $1 AND b.id = $2
GROUP BY b.id;
