-- The event stream: one chain per deliberation (docs/log-format.md).

CREATE TABLE streams (
    stream_id       text PRIMARY KEY,
    kind            text NOT NULL DEFAULT 'deliberation',
    head_seq        bigint NOT NULL DEFAULT 0,
    head_hash       text NOT NULL DEFAULT repeat('0', 64),
    -- Ballot box state, checked under the same row lock that orders the stream.
    accepting_until timestamptz,
    sealed_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    position        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    stream_id       text NOT NULL REFERENCES streams (stream_id),
    seq             bigint NOT NULL CHECK (seq >= 1),
    type            text NOT NULL,
    payload         jsonb NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    prev_hash       text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash            text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    idempotency_key text,
    -- The transaction that wrote the row: shows group commit at work (many rows, one xact).
    tx              xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (stream_id, seq)
);

CREATE UNIQUE INDEX events_idempotency ON events (stream_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_type ON events (stream_id, type);

-- Append-only, enforced by the database and not only by convention.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a correcting event instead of changing history.';
END
$$;

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
