-- Account security: passwords an operator set that the user must replace, and sessions a user can tell apart
-- (to end the one on a lost phone). Who disabled, enabled or reset an account is not kept here: each of those
-- acts is an event in the `accounts` stream (yishi/services/account_admin.py), hash-chained like every other.

-- Set by `yishi user reset-password --generate`: the next sign-in can only choose a new password.
ALTER TABLE accounts ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

-- What the "my sessions" page shows of each sign-in (the client's address as the trusted proxy reported it,
-- the browser's own description, cut to 200 characters), and why a session ended.
ALTER TABLE web_sessions ADD COLUMN address text;
ALTER TABLE web_sessions ADD COLUMN user_agent text CHECK (length(user_agent) <= 200);
ALTER TABLE web_sessions ADD COLUMN end_reason text;

CREATE INDEX web_sessions_live ON web_sessions (account_id) WHERE ended_at IS NULL;
