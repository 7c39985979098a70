-- Staff pages (issue 21): a community's own settings, the complainant of a ticket as the desk took it down, and the
-- files attached to tickets, stored by their SHA-256.

-- A community's choices that are not the law's: whether a paper ballot needs its scan's reference (the sheet's
-- number or scan file name, the auditors' link from the record to the paper). Without a row: required.
CREATE TABLE community_settings (
    community          text PRIMARY KEY,
    paper_ref_required boolean NOT NULL DEFAULT true,
    updated_by         text NOT NULL,
    updated_at         timestamptz NOT NULL
);

-- Who complained, as the desk wrote it down: never in the ticket's stream (the stream holds the owner id or the
-- name the desk typed as the initiator, never a phone), shown only to the office that owns the ticket
-- (yishi/services/complainants.py). Deleting a row erases the person's details and leaves the stream intact.
CREATE TABLE ticket_complainants (
    ticket_id     text PRIMARY KEY,
    name          text NOT NULL,
    room          text NOT NULL DEFAULT '',
    phone         text NOT NULL DEFAULT '',
    owner_id      text,
    given_by      text NOT NULL,
    given_at      timestamptz NOT NULL
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
