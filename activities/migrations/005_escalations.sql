-- Escalations (issue 6): a projection of the ticket streams for the inbox and the rates, the organisations
-- that receive tickets, per-community ladders, and organisation accounts. The streams are the record:
-- `escalations` can be dropped and rebuilt from them (yishi/services/escalations.py `rebuild_projection`).

CREATE TABLE escalations (
    ticket_id     text PRIMARY KEY,          -- the ticket's stream id
    parent_id     text,                      -- the deliberation it came from, if any
    community     text NOT NULL,
    category      text NOT NULL,
    subject       text NOT NULL,
    initiator     text NOT NULL,
    initiator_kind text NOT NULL,
    status        text NOT NULL,
    level         integer,
    level_key     text,
    org           text,                      -- the owner now (NULL once resolved, closed or cancelled)
    transfer_to   text,                      -- a transfer waiting for this organisation to accept
    ack_due       timestamptz,
    resolve_due   timestamptz,
    opened_at     timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_seq      bigint NOT NULL,
    state         jsonb NOT NULL             -- the folded ticket (domain.escalation.Ticket)
);
CREATE INDEX escalations_org ON escalations (org) WHERE org IS NOT NULL;
CREATE INDEX escalations_transfer ON escalations (transfer_to) WHERE transfer_to IS NOT NULL;
CREATE INDEX escalations_parent ON escalations (parent_id);

-- Organisations that own tickets: names, an optional webhook, and a bearer token for their systems
-- (only sha256 of the token is kept; the webhook secret comes from YISHI_ESCALATION_WEBHOOK_SECRET).
CREATE TABLE escalation_orgs (
    org           text PRIMARY KEY,
    name_zh       text NOT NULL DEFAULT '',
    name_en       text NOT NULL DEFAULT '',
    role          text NOT NULL DEFAULT 'department'
                  CHECK (role IN ('grid_worker', 'committee', 'street_office', 'department')),
    webhook_url   text,
    token_hash    text UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- A community's own ladder (domain.escalation.Ladder as JSON); without a row the default ladder applies.
CREATE TABLE escalation_ladders (
    community     text PRIMARY KEY,
    ladder        jsonb NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Street-office and department accounts carry the organisation they act for.
ALTER TABLE accounts ADD COLUMN organisation text;
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check
    CHECK (role IN ('committee', 'grid_worker', 'street_office', 'department', 'auditor'));
