-- Tickets routed by grid, 书记直通车, 吹哨报到 parts, the 12345 intake and the appraisal (issue 19).

-- 书记直通车: the community party secretary has an account role of their own; a hotline's system is an
-- organisation with a token, like a department's.
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check
    CHECK (role IN ('committee', 'grid_worker', 'street_office', 'department', 'auditor', 'party_secretary'));
ALTER TABLE escalation_orgs DROP CONSTRAINT escalation_orgs_role_check;
ALTER TABLE escalation_orgs ADD CONSTRAINT escalation_orgs_role_check
    CHECK (role IN ('grid_worker', 'committee', 'street_office', 'department', 'party_secretary', 'hotline'));

-- What the inbox and the reports show of a ticket without reading its JSON.
ALTER TABLE escalations ADD COLUMN channel text NOT NULL DEFAULT '';
ALTER TABLE escalations ADD COLUMN grid text NOT NULL DEFAULT '';
ALTER TABLE escalations ADD COLUMN building text NOT NULL DEFAULT '';
ALTER TABLE escalations ADD COLUMN ladder_version integer;
ALTER TABLE escalations ADD COLUMN acknowledged boolean NOT NULL DEFAULT false;
ALTER TABLE escalations ADD COLUMN next_due timestamptz;   -- the owner's next deadline (the inbox's order)
ALTER TABLE escalations ADD COLUMN joint boolean NOT NULL DEFAULT false;  -- has open parts
CREATE INDEX escalations_org_due ON escalations (org, next_due) WHERE org IS NOT NULL;
CREATE INDEX escalations_community_opened ON escalations (community, opened_at DESC);

-- A joint ticket's parts (吹哨报到): one row per part, owned now by `org` (the department, or its supervisor).
CREATE TABLE escalation_parts (
    ticket_id   text NOT NULL,
    part        integer NOT NULL,
    department  text NOT NULL,
    org         text NOT NULL,
    status      text NOT NULL CHECK (status IN ('open', 'done', 'released')),
    reported    boolean NOT NULL,
    report_due  timestamptz NOT NULL,
    resolve_due timestamptz NOT NULL,
    next_due    timestamptz,
    opened_at   timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, part)
);
CREATE INDEX escalation_parts_open ON escalation_parts (org, next_due) WHERE status = 'open';
CREATE INDEX escalation_parts_department ON escalation_parts (department, opened_at);

-- Every turn of every ticket: an assignment at a level (kind 'level') or a part's turn (kind 'part'), what the
-- appraisal counts (domain/escalation_rates.py gives each column its meaning; domain/grid_appraisal.py the SQL).
CREATE TABLE escalation_turns (
    ticket_id       text NOT NULL,
    unit            text NOT NULL,        -- a<n> for assignment n, p<part>.<i> for a part's i-th turn
    kind            text NOT NULL CHECK (kind IN ('level', 'part')),
    community       text NOT NULL,
    grid            text NOT NULL,        -- the ticket's grid code ('' when none was found)
    channel         text NOT NULL,
    category        text NOT NULL,
    level_key       text NOT NULL,
    org             text NOT NULL,
    assigned_at     timestamptz NOT NULL,
    ack_due         timestamptz NOT NULL,
    resolve_due     timestamptz NOT NULL,
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    ended_at        timestamptz,
    follow_up       text,
    reopened        boolean NOT NULL DEFAULT false,
    day             date NOT NULL,        -- the Beijing day of assigned_at
    settled         boolean NOT NULL,     -- both verdicts are fixed (done, or the turn ended): counted in turn_days
    PRIMARY KEY (ticket_id, unit)
);
CREATE INDEX escalation_turns_org ON escalation_turns (org, assigned_at);
CREATE INDEX escalation_turns_community ON escalation_turns (community, assigned_at);
CREATE INDEX escalation_turns_unsettled ON escalation_turns (assigned_at) WHERE NOT settled;

-- The settled turns summed per Beijing day and key: what a month or a half-year of a whole street reads (instead of
-- every turn), kept by the projection in the same transaction as the turns (activities/ticket_projection.py) and
-- rebuilt from them (`rebuild_turn_days`). A settled turn's verdicts no longer depend on the moment they are judged
-- at; the unsettled ones (the open tickets') are counted from escalation_turns at each read.
CREATE TABLE turn_days (
    day                 date NOT NULL,
    community           text NOT NULL,
    org                 text NOT NULL,
    kind                text NOT NULL,
    level_key           text NOT NULL,
    channel             text NOT NULL,
    grid                text NOT NULL,
    assigned            bigint NOT NULL,
    ack_met             bigint NOT NULL,
    ack_missed          bigint NOT NULL,
    resolve_met         bigint NOT NULL,
    resolve_missed      bigint NOT NULL,
    satisfied           bigint NOT NULL,
    basically_satisfied bigint NOT NULL,
    not_satisfied       bigint NOT NULL,
    reopened            bigint NOT NULL,
    responded           bigint NOT NULL,
    respond_us          numeric NOT NULL,
    resolved            bigint NOT NULL,
    resolve_us          numeric NOT NULL,
    PRIMARY KEY (day, community, org, kind, level_key, channel, grid)
);
CREATE INDEX turn_days_org ON turn_days (org, day);

-- A hotline case and its ticket: one ticket per (source, case number), whatever the hotline sends twice.
CREATE TABLE hotline_cases (
    source       text NOT NULL,
    case_number  text NOT NULL,
    org          text NOT NULL REFERENCES escalation_orgs (org),
    ticket_id    text NOT NULL UNIQUE,
    body_sha256  text NOT NULL CHECK (body_sha256 ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, case_number)
);

-- Who complained, for the offices that handle the ticket only: never in the stream (which keeps its sha256,
-- `EscalationOpened.complainant_digest`), never in an export; the ticket page and API show it to the
-- organisations that own a part of the ticket.
CREATE TABLE ticket_complainants (
    ticket_id   text PRIMARY KEY,
    contact     jsonb NOT NULL,           -- {"name", "phone", "room"} as given
    created_at  timestamptz NOT NULL DEFAULT now()
);
