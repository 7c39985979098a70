#!/bin/sh
# Run by the `temporal-schema` service (temporalio/admin-tools, the same version as the server) before the
# server starts: create Temporal's two databases if they are missing and bring their schemas to this version.
# Safe to run again: setup-schema leaves a versioned schema alone, update-schema applies only what is missing.
# This is what the development image `temporalio/auto-setup` did on every start, as a separate step.
set -eu
PLUGIN=postgres12
SCHEMA=/etc/temporal/schema/postgresql/v12
export SQL_PASSWORD="${POSTGRES_PWD}"
sql() {
  temporal-sql-tool --plugin "$PLUGIN" --ep "${POSTGRES_SEEDS}" -u "${POSTGRES_USER}" -p "${DB_PORT}" "$@"
}
for pair in "temporal:temporal" "temporal_visibility:visibility"; do
  db="${pair%%:*}"
  dir="${pair#*:}"
  # `create` fails when the database exists (every run after the first); setup-schema says so if it is missing.
  sql --db "$db" create || echo "database $db exists"
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$SCHEMA/$dir/versioned"
done
echo "Temporal schema is up to date"
