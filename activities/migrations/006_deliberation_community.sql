-- The community (社区) a deliberation belongs to, for the console's community filter and for keeping a
-- community-bound committee or grid-worker account to its own community. Rows registered before this
-- column existed, and deliberations started without --community, belong to 'default' (no named community).
ALTER TABLE deliberations ADD COLUMN community text NOT NULL DEFAULT 'default';
CREATE INDEX deliberations_community ON deliberations (community, created_at DESC);
