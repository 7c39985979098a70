-- Rolls frozen for deliberations (content-addressed by their digest) and the deliberation registry.
-- The event stream is the record; these tables are what it refers to (rolls) and a listing (registry).

CREATE TABLE rolls (
    digest      text PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{64}$'),
    entries     jsonb NOT NULL,   -- the counting fields of every room: what the digest covers
    contacts    jsonb NOT NULL,   -- owner_id -> {name, phone}: kept out of the stream and the digest
    source      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION rolls_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a frozen roll cannot change: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER rolls_no_update BEFORE UPDATE OF digest, entries ON rolls
    FOR EACH ROW EXECUTE FUNCTION rolls_immutable();

CREATE TABLE deliberations (
    id            text PRIMARY KEY,
    procedure     text NOT NULL,
    title         text NOT NULL,
    rule_id       text NOT NULL,
    scope         jsonb NOT NULL,
    roll_digest   text NOT NULL REFERENCES rolls (digest),
    opens_at      timestamptz NOT NULL,
    closes_at     timestamptz NOT NULL,
    changeable    boolean NOT NULL DEFAULT true,
    question_zh   text NOT NULL,
    question_en   text NOT NULL DEFAULT '',
    notice_zh     text NOT NULL DEFAULT '',
    notice_en     text NOT NULL DEFAULT '',
    workflow_id   text,
    previous_id   text REFERENCES deliberations (id),
    created_at    timestamptz NOT NULL DEFAULT now()
);
