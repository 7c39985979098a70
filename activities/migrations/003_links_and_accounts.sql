-- Personal voting links, committee accounts and their web sessions.
-- No foreign key to `deliberations`: links are issued for what the stream says, and an auditor's copy of
-- the database may hold streams without registry rows.

-- One row per link ever issued. The plain token is never stored: only sha256(token) and the random
-- `nonce` it was derived from with the server's secret key (yishi/services/links.py explains why).
CREATE TABLE links (
    deliberation_id text NOT NULL,
    owner_id        text NOT NULL,
    generation      integer NOT NULL CHECK (generation >= 1),
    nonce           text NOT NULL CHECK (nonce ~ '^[0-9a-f]{64}$'),
    token_hash      text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    issued_at       timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_by      text,
    revoke_reason   text,
    PRIMARY KEY (deliberation_id, owner_id, generation)
);

-- At most one live link per owner per deliberation: a reissue revokes the old row in the same transaction.
CREATE UNIQUE INDEX links_live ON links (deliberation_id, owner_id) WHERE revoked_at IS NULL;

CREATE TABLE accounts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    role            text NOT NULL CHECK (role IN ('committee', 'grid_worker', 'street_office', 'auditor')),
    community       text,
    password_hash   text NOT NULL,         -- argon2id, PHC string
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);

-- Server-side sessions so that logging out (or disabling an account) ends them at once. The cookie
-- carries the session id signed with the secret key; only sha256(id) is stored.
CREATE TABLE web_sessions (
    id_hash         text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
    account_id      bigint NOT NULL REFERENCES accounts (id),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    ended_at        timestamptz
);

-- Receipt check looks a ballot up by (seq, hash prefix) without knowing the stream.
CREATE INDEX events_receipt_lookup ON events (seq, hash text_pattern_ops);
