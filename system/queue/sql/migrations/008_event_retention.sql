-- 008: events are kept for EVENT_RETENTION_DAYS, then swept; a client asking for older ones is told so.

-- The first seq of the user's stream still kept: a socket asked for ?after= below events_kept_from - 1
-- closes with EVENTS_EXPIRED_CLOSE_CODE (system/contract.py) instead of replaying a stream with a hole.
ALTER TABLE users ADD COLUMN events_kept_from bigint NOT NULL DEFAULT 1;

-- The sweep takes the oldest events first, a chunk at a time.  Events are appended in time order, so a BRIN
-- index finds the old ones from a few block ranges, and costs next to nothing on each of the events a job writes.
CREATE INDEX events_created ON events USING brin (created_at);
