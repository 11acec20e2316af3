#!/usr/bin/env bash
# Starts Debian's PostgreSQL cluster for the tests and gives the postgres role a password, so
# tests connect over TCP as postgres://postgres:postgres@127.0.0.1:5432/postgres.
set -euo pipefail
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main
fi
pg_ctlcluster "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break; sleep 1; done
su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
pg_isready -h 127.0.0.1 -p 5432
