-- What a researcher's day needs beyond the job lifecycle: a project's batches (a page restoring
-- itself finds the running one), a batch's jobs, and a project's results for export
-- (system/queue/lab.py).

-- project_batches --
-- Project $2's batches, newest first, at most $3, each with its jobs counted by status.
SELECT b.id, b.project_id, b.model, b.total, b.created_at, b.finished_at, b.cancelled_at,
       c.queued, c.running, c.succeeded, c.failed, c.cancelled
FROM batches b
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE j.status = 'queued') AS queued,
           count(*) FILTER (WHERE j.status = 'running') AS running,
           count(*) FILTER (WHERE j.status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE j.status = 'failed') AS failed,
           count(*) FILTER (WHERE j.status = 'cancelled') AS cancelled
    FROM jobs j WHERE j.batch_id = b.id
) c
WHERE b.user_id = $1 AND b.project_id = $2
ORDER BY b.id DESC
LIMIT $3;

-- batch_jobs --
-- Batch $2's jobs, by id: which image each is for and where it stands.
SELECT j.id, j.image_id, j.status
FROM batches b JOIN jobs j ON j.batch_id = b.id
WHERE b.user_id = $1 AND b.id = $2
ORDER BY j.id;

-- project_results --
-- Every segmented image of project $2 with its latest successful result, by image id ($3: with the masks).
SELECT i.id, i.filename, i.width, i.height, r.job_id, r.model_used, r.polygons, r.measurements, p.pixel_size_um,
       CASE WHEN $3::boolean THEN r.mask_png END AS mask_png
FROM projects p
JOIN images i ON i.project_id = p.id
JOIN LATERAL (SELECT * FROM results WHERE results.image_id = i.id ORDER BY job_id DESC LIMIT 1) r ON true
WHERE p.id = $2 AND p.user_id = $1
ORDER BY i.id;

-- image_result --
-- Image $2's latest successful result, with its name and its project's pixel size (none: no row).
SELECT i.id, i.filename, i.width, i.height, r.job_id, r.model_used, r.polygons, r.measurements, p.pixel_size_um
FROM images i
JOIN projects p ON p.id = i.project_id
JOIN LATERAL (SELECT * FROM results WHERE results.image_id = i.id ORDER BY job_id DESC LIMIT 1) r ON true
WHERE i.id = $2 AND i.user_id = $1;

-- own_project_row --
-- Project $2 if it is $1's (its pixel size with it).
SELECT id, pixel_size_um FROM projects WHERE id = $2 AND user_id = $1;
