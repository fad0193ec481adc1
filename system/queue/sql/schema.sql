-- Bookkeeping of the schema itself (system/queue/sql.py): migrations and a liveness query.

-- migration_lock --
-- Held only while migrating, so several processes may start against one database at once.
SELECT pg_advisory_lock($1);

-- migration_unlock --
SELECT pg_advisory_unlock($1);

-- create_migrations_table --
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- applied_migrations --
SELECT version FROM schema_migrations;

-- record_migration --
INSERT INTO schema_migrations (version, name) VALUES ($1, $2);

-- ping --
SELECT 1;
