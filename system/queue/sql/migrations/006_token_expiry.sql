-- 006: sessions end.  A token is good until expires_at; using it slides that forward (SESSION_SECONDS),
-- signing out deletes it.  Tokens issued before this migration get a session's default length from now.
ALTER TABLE tokens ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now() + interval '12 hours';
CREATE INDEX tokens_expires_at ON tokens (expires_at);
