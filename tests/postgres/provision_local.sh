#!/usr/bin/env bash
# Provisions and runs a local PostgreSQL from Debian's packages for the store's tests: a cluster of
# its own in a state directory, listening on loopback only, with a `bridge` user who may create
# databases. Idempotent: each step checks first.
#
#   provision_local.sh start   install if needed, create the cluster, start; prints DATABASE_URL=
#   provision_local.sh stop    stop the cluster this script started
#   provision_local.sh status  exit 0 when it answers
#   provision_local.sh sql Q   runs one statement as the cluster's superuser (the production-shaped
#                              Redmine of redmine_server/ keeps its database here too)
set -euo pipefail

PORT="${BRIDGE_PG_PORT:-5433}"
STATE_DIR="${BRIDGE_PG_STATE_DIR:-/tmp/bridge-postgres}"
DATA="${STATE_DIR}/data"
PASSWORD="bridge-test-only"

say() { printf '[postgres] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -E "$@"; fi; }
as_postgres() { as_root runuser -u postgres -- "$@"; }

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

install_packages() {
  if [ -z "$(bin_dir)" ]; then
    say "installing postgresql from Debian's packages (first run only)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
  fi
}

answers() { as_postgres "$(bin_dir)/pg_isready" -q -h 127.0.0.1 -p "${PORT}" 2>/dev/null; }

create_cluster() {
  [ -f "${DATA}/PG_VERSION" ] && return
  say "creating a cluster in ${DATA}"
  as_root mkdir -p "${DATA}"
  as_root chown -R postgres:postgres "${STATE_DIR}"
  echo postgres-test-only | as_root tee "${STATE_DIR}/pwfile" >/dev/null
  as_root chown postgres:postgres "${STATE_DIR}/pwfile"
  as_postgres "$(bin_dir)/initdb" -D "${DATA}" -A scram-sha-256 --pwfile="${STATE_DIR}/pwfile" -U postgres >/dev/null
  as_root rm -f "${STATE_DIR}/pwfile"
}

start_cluster() {
  if answers; then say "already running on 127.0.0.1:${PORT}"; return; fi
  say "starting on 127.0.0.1:${PORT}"
  as_postgres "$(bin_dir)/pg_ctl" -D "${DATA}" -l "${STATE_DIR}/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p ${PORT} -k ${STATE_DIR}" start >/dev/null
}

admin_sql() { PGPASSWORD=postgres-test-only psql -h 127.0.0.1 -p "${PORT}" -U postgres -d postgres -qtAc "$1"; }

create_user() {
  admin_sql "SELECT 1 FROM pg_roles WHERE rolname = 'bridge'" | grep -q 1 \
    || admin_sql "CREATE ROLE bridge LOGIN CREATEDB PASSWORD '${PASSWORD}'"
  admin_sql "SELECT 1 FROM pg_database WHERE datname = 'bridge'" | grep -q 1 \
    || admin_sql "CREATE DATABASE bridge OWNER bridge"
}

case "${1:-start}" in
  start)
    install_packages
    create_cluster
    start_cluster
    create_user
    echo "DATABASE_URL=postgresql+psycopg://bridge:${PASSWORD}@127.0.0.1:${PORT}/bridge"
    ;;
  stop)
    if [ -f "${DATA}/postmaster.pid" ]; then as_postgres "$(bin_dir)/pg_ctl" -D "${DATA}" -m fast stop >/dev/null; say "stopped"; fi
    ;;
  status) answers ;;
  sql) admin_sql "$2" ;;
  *) echo "usage: $0 [start|stop|status|sql STATEMENT]" >&2; exit 2 ;;
esac
