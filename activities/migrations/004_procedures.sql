-- Notice channels chosen per community (issue 5). No secrets here: the gateway token and the SMTP
-- password come from YISHI_NOTICE_* settings. The printed sheet is always used, listed or not.

CREATE TABLE notice_channels (
    community   text PRIMARY KEY,
    channels    text[] NOT NULL DEFAULT ARRAY['print', 'log'],
    webhook_url text,
    email_to    text[],
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (channels <@ ARRAY['print', 'webhook', 'email', 'log'])
);
