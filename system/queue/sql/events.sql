-- A user's event stream, as the WebSockets read it (system/queue/events.py).
-- Events are appended by the job lifecycle (jobs.sql, emit_events).

-- last_event_seq --
-- Where a stream that asks for "only what happens from now on" starts.
SELECT event_seq FROM users WHERE id = $1;

-- events_after --
-- $1 user, $2 last seq the client has, $3 page size
SELECT seq, type, body, created_at FROM events
WHERE user_id = $1 AND seq > $2
ORDER BY seq
LIMIT $3;
