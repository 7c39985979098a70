-- Appraisals of property companies (issue 20): the read model of the appraisal streams, so the console and the
-- street's list find a community's or a street's appraisals without reading every event. The streams are the
-- record: the row is rewritten from its stream after every append (yishi/services/appraisal_rows.py
-- `project_appraisal`), `yishi appraisal rebuild` redoes the table from scratch; the backfill below does the same
-- for the appraisals opened before this table existed.

CREATE TABLE appraisals (
    appraisal_id  text PRIMARY KEY,          -- the appraisal's stream id (and workflow id), appraisal-<12 hex>
    street        text NOT NULL,
    community     text NOT NULL,
    estate        text NOT NULL,
    credit_code   text NOT NULL,
    company_name  text NOT NULL,
    period        text NOT NULL,
    status        text NOT NULL CHECK (status IN ('open', 'closed')),
    opens_at      timestamptz NOT NULL,
    closes_at     timestamptz NOT NULL,
    raters        integer NOT NULL DEFAULT 0,
    recorded      boolean NOT NULL DEFAULT false,  -- the workflow recorded the result
    score         text,                      -- the recorded overall score, exact ('p/q' or an integer), out of 100
    last_seq      bigint NOT NULL
);
CREATE INDEX appraisals_community ON appraisals (community, opens_at DESC);
CREATE INDEX appraisals_street_period ON appraisals (street, period);

INSERT INTO appraisals (appraisal_id, street, community, estate, credit_code, company_name, period, status, opens_at,
                        closes_at, raters, recorded, score, last_seq)
SELECT o.stream_id, o.payload->>'street', o.payload->>'community', o.payload->>'estate',
       o.payload->'company'->>'credit_code', o.payload->'company'->>'name', o.payload->>'period',
       CASE WHEN EXISTS (SELECT 1 FROM events c WHERE c.stream_id = o.stream_id AND c.type = 'AppraisalClosed')
            THEN 'closed' ELSE 'open' END,
       (o.payload->>'opens_at')::timestamptz, (o.payload->>'closes_at')::timestamptz,
       (SELECT count(*) FROM events r WHERE r.stream_id = o.stream_id AND r.type = 'RatingGiven'),
       EXISTS (SELECT 1 FROM events d WHERE d.stream_id = o.stream_id AND d.type = 'AppraisalResultRecorded'),
       (SELECT d.payload->'result'->>'score' FROM events d
         WHERE d.stream_id = o.stream_id AND d.type = 'AppraisalResultRecorded' LIMIT 1),
       (SELECT max(seq) FROM events s WHERE s.stream_id = o.stream_id)
  FROM events o WHERE o.type = 'AppraisalOpened';
