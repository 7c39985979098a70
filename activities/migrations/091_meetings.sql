-- Meetings (issue 16): the read model of the meeting streams (meeting-<12 hex>) and of the series
-- (series-<12 hex>). The streams are the record: both tables can be dropped and rebuilt from them
-- (yishi/services/meetings.py `rebuild_meetings`).

CREATE TABLE meetings (
    meeting_id      text PRIMARY KEY,        -- the meeting's stream id (and workflow id)
    community       text NOT NULL,
    series_id       text,
    deliberation_id text,                    -- the consultation procedure it serves, if any
    title           text NOT NULL,
    kind            text NOT NULL,
    starts_at       timestamptz NOT NULL,
    place           text NOT NULL,
    status          text NOT NULL,
    items           integer NOT NULL,
    parties         integer NOT NULL,
    attendees       integer NOT NULL,
    minutes_version integer NOT NULL,
    confirm_until   timestamptz,
    last_seq        bigint NOT NULL,
    state           jsonb NOT NULL           -- the folded meeting (domain/meeting_state.py)
);
CREATE INDEX meetings_community ON meetings (community, starts_at DESC);
CREATE INDEX meetings_series ON meetings (series_id, starts_at) WHERE series_id IS NOT NULL;

CREATE TABLE meeting_series (
    series_id       text PRIMARY KEY,
    community       text NOT NULL,
    title           text NOT NULL,
    plan            jsonb NOT NULL,          -- the SeriesPlanned event
    ended           boolean NOT NULL DEFAULT false,
    last_seq        bigint NOT NULL
);
