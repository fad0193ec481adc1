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
