-- 001: users, tokens, projects, images, batches, jobs, results, events.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    event_seq     bigint NOT NULL DEFAULT 0,  -- last seq given to this user's events
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tokens (
    token_hash bytea PRIMARY KEY,              -- sha256 of the bearer token; the token itself is never stored
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_user ON projects (user_id);

CREATE TABLE images (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects ON DELETE CASCADE,
    user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    filename     text NOT NULL,
    content_type text NOT NULL,
    width        integer NOT NULL CHECK (width > 0),
    height       integer NOT NULL CHECK (height > 0),
    data         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX images_project ON images (project_id);

CREATE TABLE batches (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects ON DELETE CASCADE,
    user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    model        text NOT NULL,
    threshold    real NOT NULL,
    total        integer NOT NULL,
    cancelled_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz              -- set once no job of the batch is queued or running
);

CREATE TABLE jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id         bigint NOT NULL REFERENCES batches ON DELETE CASCADE,
    image_id         bigint NOT NULL REFERENCES images ON DELETE CASCADE,
    project_id       bigint NOT NULL,
    user_id          bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    model            text NOT NULL,
    threshold        real NOT NULL,
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    model_used       text,
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL,
    error_code       text,
    error_message    text,
    queued_at        timestamptz NOT NULL DEFAULT now(),
    run_after        timestamptz NOT NULL DEFAULT now(),  -- retry backoff
    started_at       timestamptz,
    finished_at      timestamptz,
    worker           text,
    slot             integer,              -- which of the max_running places a running job holds
    lease_token      uuid,                 -- proves which claim a worker holds
    lease_expires_at timestamptz,
    CHECK ((status = 'running') = (slot IS NOT NULL AND lease_token IS NOT NULL))
);
CREATE INDEX jobs_queued ON jobs (user_id, queued_at, id) WHERE status = 'queued';
CREATE INDEX jobs_running ON jobs (user_id) WHERE status = 'running';
CREATE INDEX jobs_batch ON jobs (batch_id);
CREATE INDEX jobs_image ON jobs (image_id, id);
-- The bound on jobs running at once, enforced by the database itself: two
-- running jobs can never hold the same slot.
CREATE UNIQUE INDEX jobs_slot ON jobs (slot) WHERE status = 'running';

CREATE TABLE results (
    job_id     bigint PRIMARY KEY REFERENCES jobs ON DELETE CASCADE,
    image_id   bigint NOT NULL REFERENCES images ON DELETE CASCADE,
    model_used text NOT NULL,
    mask_png   bytea NOT NULL,
    polygons   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX results_image ON results (image_id, job_id);

CREATE TABLE events (
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    seq        bigint NOT NULL,
    type       text NOT NULL,
    body       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, seq)
);

CREATE TABLE workers (
    name      text PRIMARY KEY,
    last_seen timestamptz NOT NULL DEFAULT now()
);
