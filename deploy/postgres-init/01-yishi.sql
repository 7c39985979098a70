-- Run once by the postgres image's entrypoint, when the data volume is first initialised
-- (files in /docker-entrypoint-initdb.d). Later changes need a manual ALTER ROLE / CREATE DATABASE.
--
-- Yishi gets its own role and database. Temporal's schema step (the `temporal-schema` service) creates its own
-- databases, `temporal` and `temporal_visibility`, as the superuser.
--
-- The password comes from POSTGRES_YISHI_PASSWORD in the postgres container's environment
-- (docker-compose.yml refuses to start without it).

\set ON_ERROR_STOP on
\getenv yishi_password POSTGRES_YISHI_PASSWORD

CREATE ROLE yishi LOGIN PASSWORD :'yishi_password';
CREATE DATABASE yishi OWNER yishi TEMPLATE template0 ENCODING 'UTF8';
REVOKE ALL ON DATABASE yishi FROM PUBLIC;
