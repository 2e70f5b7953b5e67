#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for the tests on 127.0.0.1:55432 (or
# $POSML_PG_PORT) under /tmp/posml-pg, unless it already runs, and prints the
# line that exports its URL:   eval "$(scripts/pg.sh)"
set -euo pipefail
port=${POSML_PG_PORT:-55432}
dir=/tmp/posml-pg-$port
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# A server already answering on the port (ours, or one a developer started)
# is used as it is.
if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1" >/dev/null 2>&1 &&
   ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    as_pg "$bin/initdb" -D "$dir" -A trust -U postgres >/dev/null
  fi
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
fi
as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='posml_test'" | grep -q 1 ||
  as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE posml_test" >/dev/null
echo "export POSML_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/posml_test?sslmode=disable"
