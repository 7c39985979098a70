-- Staff pages (issue 21): a community's own settings and the files attached to tickets, stored by their SHA-256.
-- (Who complained is kept in `ticket_complainants`, 096_grid_tickets.sql, with its digest in the ticket's stream.)

-- A community's choices that are not the law's: whether a paper ballot needs its scan's reference (the sheet's
-- number or scan file name, the auditors' link from the record to the paper). Without a row: required.
CREATE TABLE community_settings (
    community          text PRIMARY KEY,
    paper_ref_required boolean NOT NULL DEFAULT true,
    updated_by         text NOT NULL,
    updated_at         timestamptz NOT NULL
);

-- Attached files by SHA-256 (the ticket's events name them by hash; the bytes live here once, whoever sent them).
-- The type is read from the bytes (yishi/services/attachments.py), never from the name or the browser's word.
CREATE TABLE attachment_blobs (
    sha256        text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type    text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
    bytes         integer NOT NULL CHECK (bytes > 0),
    data          bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (length(data) = bytes)
);
