-- Accounts and bearer tokens (system/queue/store.py).  Passwords and tokens
-- arrive here already hashed; neither is ever stored in the clear.

-- create_user --
INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id;

-- me --
-- The signed-in user, with where their event stream stands (the newest seq and its event's id).
SELECT u.id, u.username, u.event_seq, u.events_kept_from, e.event_id
FROM users u LEFT JOIN events e ON e.user_id = u.id AND e.seq = u.event_seq
WHERE u.id = $1;

-- user_by_name --
SELECT id, password_hash FROM users WHERE username = $1;

-- create_token --
-- $3 the session's length in seconds
INSERT INTO tokens (token_hash, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3::float8));

-- user_for_token --
-- The user of a token that has not expired, and the seconds it has left.
SELECT user_id, extract(epoch FROM expires_at - now())::float8 AS left_s FROM tokens WHERE token_hash = $1 AND expires_at > now();

-- slide_token --
-- A token in use lives on: $2 more seconds from now (done when less than half of that is left).
UPDATE tokens SET expires_at = now() + make_interval(secs => $2::float8) WHERE token_hash = $1 AND expires_at > now();

-- revoke_token --
DELETE FROM tokens WHERE token_hash = $1 RETURNING user_id;

-- login_blocked --
-- Seconds until a guess may be made again, when one of the keys $1 has had at least its limit ($2, the
-- same order) of failures in the window of $3 seconds that began with its first; NULL when none has.
SELECT ceil(extract(epoch FROM max(f.window_started + make_interval(secs => $3::float8) - now())))::int
FROM login_failures f JOIN unnest($1::text[], $2::int[]) AS k(key, max_failures) ON f.key = k.key
WHERE f.failures >= k.max_failures AND f.window_started > now() - make_interval(secs => $3::float8);

-- login_failed --
-- One more failure for each key of $1, in a window of $2 seconds (a key whose window is over starts a new one).
INSERT INTO login_failures (key, failures, window_started)
SELECT k, 1, now() FROM unnest($1::text[]) AS k
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN login_failures.window_started > now() - make_interval(secs => $2::float8)
                    THEN login_failures.failures + 1 ELSE 1 END,
    window_started = CASE WHEN login_failures.window_started > now() - make_interval(secs => $2::float8)
                          THEN login_failures.window_started ELSE now() END;

-- login_succeeded --
DELETE FROM login_failures WHERE key = $1;
