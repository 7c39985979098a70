-- Notice channels (issue 18). A community's channels, quiet hours and opt-outs are events in its own stream
-- (`channels:<community>`, domain/channel_config.py); secrets stay in the settings. `notice_channels` (issue 5)
-- is still read for a community that has no channel stream yet (activities/notices.py).

-- One delivery per notice × channel × recipient group: the dispatcher's work queue and the delivery board.
-- The deliberation's stream records every outcome (NoticeQueued, NoticeDelivered, NoticeDeliveryFailed,
-- NoticeHeld, NoticeRetryRequested, NoticePosted); this table is what is due next and where each one stands.
CREATE TABLE notice_deliveries (
    deliberation_id text NOT NULL,
    notice_id       text NOT NULL,
    channel         text NOT NULL,          -- 'print', 'log', 'webhook', 'email' (issue 5 names) or KIND:NAME
    grp             text NOT NULL,          -- an entrance '3-2', a robot's groups, '*'
    kind            text NOT NULL,          -- the channel's kind: print, wecom, dingtalk, sms, webhook, email, log
    notice_kind     text NOT NULL,
    state           text NOT NULL CHECK (state IN
                        ('queued', 'sending', 'sent', 'failed', 'held', 'to_post', 'posted')),
    attempts        integer NOT NULL DEFAULT 0,
    next_at         timestamptz NOT NULL,
    lease_until     timestamptz,
    recipients      integer NOT NULL DEFAULT 0,
    sent            integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    reference       text NOT NULL DEFAULT '',
    fields          jsonb NOT NULL,         -- title, body, deadline, link, … (no phone, no secret)
    community       text NOT NULL,
    roll_digest     text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (deliberation_id, notice_id, channel, grp)
);
CREATE INDEX notice_deliveries_due ON notice_deliveries (next_at) WHERE state IN ('queued', 'held', 'sending');

-- Per-owner text messages of an SMS delivery: an owner whose message went out is never sent it again (a retry
-- sends only the rest).
CREATE TABLE notice_recipients (
    deliberation_id text NOT NULL,
    notice_id       text NOT NULL,
    channel         text NOT NULL,
    grp             text NOT NULL,
    owner_id        text NOT NULL,
    state           text NOT NULL CHECK (state IN ('queued', 'sent', 'failed', 'skipped')),
    error           text NOT NULL DEFAULT '',
    reference       text NOT NULL DEFAULT '',
    PRIMARY KEY (deliberation_id, notice_id, channel, grp, owner_id)
);

-- Photos of posted notices (and other evidence), by their SHA-256: the events carry the hash, this the bytes.
CREATE TABLE posting_photos (
    sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type  text NOT NULL,
    size        integer NOT NULL,
    content     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
