-- Accounts and bearer tokens (system/queue/store.py).  Passwords and tokens
-- arrive here already hashed; neither is ever stored in the clear.

-- create_user --
INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id;

-- user_by_name --
SELECT id, password_hash FROM users WHERE username = $1;

-- create_token --
INSERT INTO tokens (token_hash, user_id) VALUES ($1, $2);

-- user_for_token --
SELECT user_id FROM tokens WHERE token_hash = $1;

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
