-- 010: every event carries an id of its own, so a client that resumes can say which event it saw last.
-- After a failover that lost the last commits (asynchronous replication), the kept history may hand the
-- same seq to another event: ?after=<seq>&event_id=<id> lets the socket tell that the client was shown a
-- history that no longer exists, and close with EVENTS_REWOUND_CLOSE_CODE (system/contract.py).
ALTER TABLE events ADD COLUMN event_id uuid NOT NULL DEFAULT gen_random_uuid();
