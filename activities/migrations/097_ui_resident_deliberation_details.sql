-- What a ballot shows of the matter decided (issue 21, item 1): the procedure's own figures as the committee
-- started it (elevator: total cost and how it is shared; consultation: the issue). A listing like the rest of the
-- registry row; the workflow's input is the record. Rows written before keep '{}' and show what they showed.
ALTER TABLE deliberations ADD COLUMN details jsonb NOT NULL DEFAULT '{}'::jsonb;
