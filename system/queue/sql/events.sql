-- A user's event stream, as the WebSockets read it (system/queue/events.py).
-- Events are appended by the job lifecycle (jobs.sql, emit_events).

-- event_position --
-- Where a stream that asks for "only what happens from now on" starts (the newest seq and its event's id),
-- and the first seq still kept.
SELECT u.event_seq, u.events_kept_from, e.event_id
FROM users u LEFT JOIN events e ON e.user_id = u.id AND e.seq = u.event_seq
WHERE u.id = $1;

-- events_from --
-- $1 user, $2 the last seq the client has (read again, so the socket can check it is the event the client
-- saw), $3 page size: that event, if still there, then up to $3 later ones.
SELECT seq, type, body, created_at, event_id FROM events
WHERE user_id = $1 AND seq >= $2
ORDER BY seq
LIMIT $3 + 1;

-- sweep_events --
-- Delete up to $2 events older than $1 seconds, oldest first, and move each researcher's events_kept_from
-- past what was deleted (in id order, as every statement that updates researchers does); how many went.
WITH gone AS (
    DELETE FROM events e
    USING (SELECT user_id, seq FROM events WHERE created_at < now() - make_interval(secs => $1::float8)
           ORDER BY created_at LIMIT $2) old
    WHERE e.user_id = old.user_id AND e.seq = old.seq
    RETURNING e.user_id, e.seq
), kept AS (
    UPDATE users u SET events_kept_from = greatest(u.events_kept_from, g.last + 1)
    FROM (SELECT user_id, max(seq) AS last FROM gone GROUP BY user_id ORDER BY user_id) g
    WHERE u.id = g.user_id
    RETURNING u.id
)
SELECT (SELECT count(*) FROM gone) AS events, (SELECT count(*) FROM kept) AS researchers;
