-- Topics (issue 16): the read model of the topic streams, photos, the phone numbers kept out of the streams,
-- capability links for people without accounts, and the intake throttle. The streams are the record: `topics`
-- can be dropped and rebuilt from them (yishi/services/topics.py `rebuild_topics`).

CREATE TABLE topics (
    topic_id      text PRIMARY KEY,          -- the topic's stream id (and workflow id), topic-<12 hex>
    community     text NOT NULL,
    building      text,
    title         text NOT NULL,
    description   text NOT NULL,
    status        text NOT NULL,
    source        text NOT NULL,
    raiser_kind   text NOT NULL,
    supporters    integer NOT NULL DEFAULT 0,
    comments      integer NOT NULL DEFAULT 0,
    take_up_org   text,                      -- who must take it up now (while it waits to be taken)
    take_up_due   timestamptz,
    overdue       boolean NOT NULL DEFAULT false,   -- a take-up deadline or a milestone was missed
    merged_into   text,
    raised_at     timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_seq      bigint NOT NULL,
    state         jsonb NOT NULL             -- the folded topic without supporters and comments (Topic.slim)
);
CREATE INDEX topics_community_status ON topics (community, status, raised_at DESC);
CREATE INDEX topics_take_up ON topics (take_up_org) WHERE take_up_org IS NOT NULL;

-- Photos by SHA-256 (type, size and dimensions checked from the bytes: domain/photos.py). A topic's event
-- names its photos by hash; the bytes live here once, whoever sent them.
CREATE TABLE blobs (
    sha256        text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type    text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
    bytes         integer NOT NULL CHECK (bytes > 0),
    width         integer NOT NULL CHECK (width > 0),
    height        integer NOT NULL CHECK (height > 0),
    data          bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (length(data) = bytes)
);

-- Phone numbers a proposer or supporter gave: never in a stream (the event holds only the keyed hash),
-- never on a public page; the committee reads them to call back. Deleting a row erases the number and
-- leaves the stream intact.
CREATE TABLE topic_contacts (
    topic_id      text NOT NULL,
    person        text NOT NULL,             -- the opaque id the stream uses (e.g. phone:<hash>)
    phone         text NOT NULL,
    contact_hash  text NOT NULL,             -- hmac-sha256:<hex>, as in the event
    given_at      timestamptz NOT NULL,
    PRIMARY KEY (topic_id, person)
);

-- Capability links of people without accounts (yishi/services/capabilities.py): the proposer's tracking
-- link, a supporter's link, a party's meeting invitation, a community's intake QR link. Only sha256 of
-- the token and the nonce it was derived from are kept; issue and revocation are also events in the
-- subject's stream.
CREATE TABLE capability_links (
    token_hash    text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    kind          text NOT NULL CHECK (kind IN ('intake', 'tracking', 'supporter', 'invitation')),
    subject       text NOT NULL,             -- the stream the link acts on
    holder        text NOT NULL,             -- whose link it is (opaque id; a building for an intake link)
    community     text NOT NULL,
    generation    integer NOT NULL CHECK (generation >= 1),
    nonce         text NOT NULL CHECK (nonce ~ '^[0-9a-f]{64}$'),
    issued_at     timestamptz NOT NULL,
    issued_by     text NOT NULL,
    revoked_at    timestamptz,
    revoked_by    text,
    revoke_reason text,
    UNIQUE (kind, subject, holder, generation)
);
CREATE UNIQUE INDEX capability_links_live ON capability_links (kind, subject, holder) WHERE revoked_at IS NULL;

-- The intake throttle (yishi/services/intake_limit.py): one theoretical arrival time per lane (GCRA), and the
-- proof-of-effort challenges already used.
CREATE TABLE intake_throttle (
    key           text PRIMARY KEY,
    tat           timestamptz NOT NULL
);
CREATE TABLE intake_challenges_used (
    challenge_hash text PRIMARY KEY,
    expires_at    timestamptz NOT NULL
);
