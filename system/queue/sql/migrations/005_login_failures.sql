-- 005: failed logins, counted per account and per address within a window, so that guessing a
-- password is slowed down whichever API process a guess reaches (system/queue/api.py, login).
CREATE TABLE login_failures (
    key            text PRIMARY KEY,          -- 'account:<username>' or 'address:<ip>'
    failures       integer NOT NULL,
    window_started timestamptz NOT NULL
);
