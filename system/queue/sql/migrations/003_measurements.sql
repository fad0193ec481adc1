-- 003: a project's pixel size, and each result's measurements of its spheroids.

ALTER TABLE projects ADD COLUMN pixel_size_um double precision
    CHECK (pixel_size_um IS NULL OR (pixel_size_um > 0 AND pixel_size_um <= 1000));

-- One JSON object per outer outline, computed once by the worker when the job
-- succeeds (system/common/measure.py); NULL for results stored before this
-- migration, which the API measures from their mask the first time they are read.
ALTER TABLE results ADD COLUMN measurements jsonb;
