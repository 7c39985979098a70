-- Community structure (issue 19): a projection of the `structure-<community>` streams for routing, the console
-- and the appraisal. The streams are the record: every table here is rebuilt from them
-- (yishi/services/structure.py `project_structure`), one community at a time, only forward (`last_seq`).

CREATE TABLE structure_communities (
    community   text PRIMARY KEY,
    name        text NOT NULL,
    street      text NOT NULL,
    last_seq    bigint NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX structure_communities_street ON structure_communities (street, community);

CREATE TABLE structure_grids (
    community   text NOT NULL,
    code        text NOT NULL,
    name        text NOT NULL,
    org         text NOT NULL,            -- grid:<community>:<code>: the grid's workers act for it
    defined_at  timestamptz NOT NULL,
    retired_at  timestamptz,
    PRIMARY KEY (community, code)
);
CREATE UNIQUE INDEX structure_grids_org ON structure_grids (org);

-- A building (entrance '' = the whole building) in a grid over [since, until): history, not only the present.
CREATE TABLE structure_placements (
    community   text NOT NULL,
    building    text NOT NULL,
    entrance    text NOT NULL,
    grid        text NOT NULL,
    address     text NOT NULL,
    address_key text NOT NULL,            -- domain/addresses.py address_key: what a hotline's address is matched on
    since       timestamptz NOT NULL,
    until       timestamptz
);
CREATE INDEX structure_placements_building ON structure_placements (community, building, since);
CREATE INDEX structure_placements_address ON structure_placements (address_key) WHERE until IS NULL AND address_key <> '';

-- Grid workers and building heads over [since, until); `org` is the grid's, so an appraisal joins a ticket's
-- assignment to the worker(s) of its grid at the moment it was assigned.
CREATE TABLE structure_terms (
    community   text NOT NULL,
    grid        text NOT NULL,
    org         text NOT NULL,
    role        text NOT NULL CHECK (role IN ('grid_worker', 'building_head')),
    person      text NOT NULL,
    building    text NOT NULL,
    since       timestamptz NOT NULL,
    until       timestamptz
);
CREATE INDEX structure_terms_org ON structure_terms (org, since);
CREATE INDEX structure_terms_person ON structure_terms (person, since);

CREATE TABLE structure_party (
    community   text NOT NULL,
    org_id      text NOT NULL,
    kind        text NOT NULL,
    name        text NOT NULL,
    parent      text,
    grid        text NOT NULL,
    building    text NOT NULL,
    room        text NOT NULL,
    leader      text NOT NULL,
    since       timestamptz NOT NULL,
    until       timestamptz,
    PRIMARY KEY (community, org_id)
);

CREATE TABLE structure_ladders (
    community   text NOT NULL,
    version     integer NOT NULL,
    since       timestamptz NOT NULL,
    spec        jsonb NOT NULL,           -- domain.ladders.LadderVersion
    PRIMARY KEY (community, version)
);
