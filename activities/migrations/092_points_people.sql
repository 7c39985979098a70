-- Points, volunteers and property appraisals (issue 20): the people a community's ledgers name by opaque ids,
-- the capability links they use, and the credit codes of property-replacement candidates.
-- The streams are the record (points-<community>, volunteers-<community>, companies-<street>, appraisal-<id>);
-- these tables hold what must stay out of a hash chain (names, phone numbers) and what the streams refer to.

-- Names and phone numbers of the people in a community's points ledger and volunteer teams: never in a stream
-- (the stream names `person_id`), never on a public page unless the person opted in (then `display_name`, which
-- they choose). Deleting a row erases the person's name and leaves the streams intact.
CREATE TABLE people (
    person_id     text PRIMARY KEY CHECK (person_id ~ '^p-[0-9a-f]{12}$'),
    community     text NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    phone         text,
    display_name  text CHECK (display_name IS NULL OR length(display_name) BETWEEN 1 AND 20),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_community ON people (community, name);

-- Capability links of the new kinds: a person's own link (`person`, /p/), a team's sign-up poster (`team`, /vt/),
-- an activity's check-in QR code (`checkin`, /ck/), a partner shop's clerk link (`shop`, /sh/).
ALTER TABLE capability_links DROP CONSTRAINT capability_links_kind_check;
ALTER TABLE capability_links ADD CONSTRAINT capability_links_kind_check
    CHECK (kind IN ('intake', 'tracking', 'supporter', 'invitation', 'person', 'team', 'checkin', 'shop'));

-- The 统一社会信用代码 of each candidate of a property-replacement deliberation (optional), for the black-list flag.
CREATE TABLE property_candidates (
    deliberation_id text NOT NULL,
    candidate_id    text NOT NULL,
    name            text NOT NULL,
    credit_code     text CHECK (credit_code IS NULL OR credit_code ~ '^[0-9A-Z]{18}$'),
    PRIMARY KEY (deliberation_id, candidate_id)
);
CREATE INDEX property_candidates_code ON property_candidates (credit_code) WHERE credit_code IS NOT NULL;
