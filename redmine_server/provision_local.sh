#!/usr/bin/env bash
# Provisions and runs a local Redmine 5.0.4 from Debian's packages, for machines
# with no Docker engine (CI among them). Idempotent: each step checks first.
#
#   provision_local.sh start   install if needed, seed, start; prints URL and key
#   provision_local.sh fresh   the same, from a freshly seeded database (what `make demo` uses)
#   provision_local.sh stop    stop the server this script started
#   provision_local.sh status  exit 0 when the server answers
#
# Each Redmine instance (Debian's REDMINE_INSTANCE) has its own database, port and state, so
# the tests' tickets never show in the demo: REDMINE_LOCAL_INSTANCE=bridge-demo (port 3301, the
# default) or bridge-tests (port 3302), both SQLite under WEBrick, the small case.
#
# REDMINE_LOCAL_INSTANCE=bridge-company (port 3305) is seeded with seed_company.rb: the bare seed plus the
# shape of a real company's Redmine (custom fields, per-tracker fields, workflow field permissions, a group,
# versions, outsiders who may not view issues). Also SQLite under WEBrick. The demo's instance is seeded the
# same way, so that it shows both.
#
# REDMINE_LOCAL_INSTANCE=bridge-prod (port 3304) is shaped like production: Debian's redmine-pgsql
# on the project's PostgreSQL cluster (tests/postgres/provision_local.sh), served by Debian's Puma
# in cluster mode. SQLite under WEBrick writes one ticket at a time; this one writes as many as
# Redmine's CPU allows, so speed is measured and concurrency tested against it. Size it with
# REDMINE_PUMA_WORKERS (default: the machine's cores) and REDMINE_PUMA_THREADS (default 4).
#
# Output lines meant for machines start with REDMINE_URL=, REDMINE_ADMIN_KEY=,
# REDMINE_VERSION= and SEED_JSON=; progress goes to stderr.
set -euo pipefail

INSTANCE="${REDMINE_LOCAL_INSTANCE:-bridge-demo}"
ENGINE=sqlite
case "${INSTANCE}" in
  bridge-demo) DEFAULT_PORT=3301 ;;
  bridge-tests) DEFAULT_PORT=3302 ;;
  bridge-prod) DEFAULT_PORT=3304; ENGINE=pgsql ;;
  bridge-company) DEFAULT_PORT=3305 ;;
  *) DEFAULT_PORT=3303 ;;
esac
ENGINE="${REDMINE_LOCAL_ENGINE:-${ENGINE}}"
WORKERS="${REDMINE_PUMA_WORKERS:-$(nproc)}"
THREADS="${REDMINE_PUMA_THREADS:-4}"
PG_SCRIPT="$(cd "$(dirname "$0")/.." && pwd)/tests/postgres/provision_local.sh"
PG_DATABASE="redmine_${INSTANCE//-/_}"
PG_ROLE="${PG_DATABASE}"
PG_PASSWORD="redmine-test-only"
PORT="${REDMINE_LOCAL_PORT:-${DEFAULT_PORT}}"
STATE_DIR="${REDMINE_STATE_DIR:-/tmp/${INSTANCE}}"
REDMINE_DIR=/usr/share/redmine
INSTANCE_DIR="/var/lib/redmine/${INSTANCE}"
DATABASE="${INSTANCE_DIR}/db/redmine.sqlite3"
# A migrated, seeded database, kept to start a fresh instance in seconds rather than a minute.
TEMPLATE="${INSTANCE_DIR}/db/template.sqlite3"
HERE="$(cd "$(dirname "$0")" && pwd)"
SEED_FILE="${HERE}/seed.rb"
# The demo shows the bare projects and the company's together: the company seed holds both.
case "${INSTANCE}" in bridge-company|bridge-demo) SEED_FILE="${HERE}/seed_company.rb" ;; esac
URL="http://127.0.0.1:${PORT}"
# Debian's default bundler (2.3.27) treats Debian's gems as missing; 2.3.15 does not.
export BUNDLER_VERSION=2.3.15 REDMINE_INSTANCE="${INSTANCE}" RAILS_ENV=production

say() { printf '[redmine] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -E "$@"; fi; }

answers() { curl -fsS -o /dev/null --max-time 3 "${URL}/" 2>/dev/null; }

install_packages() {
  if [ "$(dpkg-query -W -f='${Status}\n' redmine redmine-sqlite 2>/dev/null | grep -c 'install ok installed')" != 2 ] \
     || ! dpkg-query -W redmine redmine-sqlite >/dev/null 2>&1; then
    say "installing redmine and redmine-sqlite from Debian's packages (first run only, ~1-2 min)"
    as_root apt-get update -qq
    # The postinst fails under the default bundler; the configure below completes it.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redmine redmine-sqlite curl >&2 || true
  fi
  if [ "${ENGINE}" = pgsql ] \
     && [ "$(dpkg-query -W -f='${Status}\n' redmine-pgsql puma 2>/dev/null | grep -c 'install ok installed')" != 2 ]; then
    say "installing redmine-pgsql and puma from Debian's packages (first run only, ~15 s)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redmine-pgsql puma >&2
  fi
  if dpkg -l redmine | grep -q '^i[^i]' || [ -n "$(dpkg --audit 2>/dev/null)" ]; then
    say "completing the package configuration (database migrations)"
    as_root env DEBIAN_FRONTEND=noninteractive BUNDLER_VERSION=2.3.15 dpkg --configure -a >&2
  fi
}

install_web_server() {
  local server=webrick
  [ "${ENGINE}" = pgsql ] && server=puma
  if ! grep -qs "gem \"${server}\"" "${REDMINE_DIR}/Gemfile.local"; then
    say "adding ${server} to Redmine's Gemfile.local"
    echo "gem \"${server}\"" | as_root tee -a "${REDMINE_DIR}/Gemfile.local" >/dev/null
  fi
  (cd "${REDMINE_DIR}" && as_root env BUNDLER_VERSION=2.3.15 bundle install --local >/dev/null 2>&1) \
    || { say "bundle install --local failed"; exit 1; }
}

# Debian's multi-tenancy: config, files, logs and tmp per instance, beside the packaged default.
write_database_config() {
  if [ "${ENGINE}" = pgsql ]; then
    # One connection per Puma thread, and one spare for the seed run beside a running server.
    printf 'production:\n  adapter: postgresql\n  host: 127.0.0.1\n  port: %s\n  database: %s\n  username: %s\n  password: %s\n  encoding: utf8\n  pool: %s\n' \
      "${PG_PORT}" "${PG_DATABASE}" "${PG_ROLE}" "${PG_PASSWORD}" "$(( THREADS + 1 ))" \
      | as_root tee "/etc/redmine/${INSTANCE}/database.yml.new" >/dev/null
  else
  # SQLite serialises writes: without a busy timeout, concurrent creates (a batch, or two users at once)
  # fail with 500 "database is locked" instead of waiting their turn.
  printf 'production:\n  adapter: sqlite3\n  database: %s\n  encoding: utf8\n  timeout: 15000\n' "${DATABASE}" \
    | as_root tee "/etc/redmine/${INSTANCE}/database.yml.new" >/dev/null
  fi
  if ! cmp -s "/etc/redmine/${INSTANCE}/database.yml.new" "/etc/redmine/${INSTANCE}/database.yml"; then
    as_root mv "/etc/redmine/${INSTANCE}/database.yml.new" "/etc/redmine/${INSTANCE}/database.yml"
    if answers; then say "database settings changed; restarting"; stop_server; fi
  else
    as_root rm -f "/etc/redmine/${INSTANCE}/database.yml.new"
  fi
}

# The PostgreSQL side: the project's cluster, a role and a database of this instance's own, and a
# template database holding the migrated, seeded state (CREATE DATABASE ... TEMPLATE copies it in seconds).
pg_sql() { "${PG_SCRIPT}" sql "$1"; }
pg_exists() { [ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ]; }
start_postgres() {
  local url
  url="$("${PG_SCRIPT}" start | sed -n 's/^DATABASE_URL=//p')"
  PG_PORT="$(printf '%s' "${url}" | sed -E 's#.*:([0-9]+)/.*#\1#')"
  [ "$(pg_sql "SELECT 1 FROM pg_roles WHERE rolname = '${PG_ROLE}'")" = 1 ] \
    || pg_sql "CREATE ROLE ${PG_ROLE} LOGIN PASSWORD '${PG_PASSWORD}'"
  pg_exists "${PG_DATABASE}" || pg_sql "CREATE DATABASE ${PG_DATABASE} OWNER ${PG_ROLE} ENCODING 'UTF8' TEMPLATE template0"
}
has_template() {
  if [ "${ENGINE}" = pgsql ]; then pg_exists "${PG_DATABASE}_template"; else [ -f "${TEMPLATE}" ]; fi
}
save_template() {
  if [ "${ENGINE}" = pgsql ]; then
    pg_sql "CREATE DATABASE ${PG_DATABASE}_template TEMPLATE ${PG_DATABASE} OWNER ${PG_ROLE}"
  else
    as_root cp "${DATABASE}" "${TEMPLATE}"
  fi
}
drop_database() {
  if [ "${ENGINE}" = pgsql ]; then
    pg_sql "DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)"
    pg_sql "CREATE DATABASE ${PG_DATABASE} OWNER ${PG_ROLE} ENCODING 'UTF8' TEMPLATE template0"
  else
    as_root rm -f "${DATABASE}"
  fi
}
load_template() {
  if [ "${ENGINE}" = pgsql ]; then
    pg_sql "DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)"
    pg_sql "CREATE DATABASE ${PG_DATABASE} TEMPLATE ${PG_DATABASE}_template OWNER ${PG_ROLE}"
  else
    as_root cp "${TEMPLATE}" "${DATABASE}"
  fi
}

create_instance() {
  [ "${ENGINE}" = pgsql ] && start_postgres
  as_root mkdir -p "/etc/redmine/${INSTANCE}" "${INSTANCE_DIR}/db" "${INSTANCE_DIR}/files" \
    "/var/log/redmine/${INSTANCE}" "/var/cache/redmine/${INSTANCE}/tmp/cache"
  write_database_config
  has_template && return
  say "creating the Redmine instance ${INSTANCE} (its own database; once per machine, ~1 min)"
  [ -s "/etc/redmine/${INSTANCE}/secret_key.txt" ] \
    || python3 -c 'import secrets; print(secrets.token_hex(32))' | as_root tee "/etc/redmine/${INSTANCE}/secret_key.txt" >/dev/null
  as_root ln -sfn "/etc/redmine/${INSTANCE}" "${INSTANCE_DIR}/config"
  as_root ln -sfn "/var/log/redmine/${INSTANCE}" "${INSTANCE_DIR}/log"
  as_root ln -sfn "/var/cache/redmine/${INSTANCE}/tmp" "${INSTANCE_DIR}/tmp"
  drop_database
  (cd "${REDMINE_DIR}" && as_root env BUNDLER_VERSION=2.3.15 REDMINE_INSTANCE="${INSTANCE}" \
     bundle exec rake db:migrate RAILS_ENV=production >"${STATE_DIR}/migrate.log" 2>&1) \
     || { say "migrating the new instance failed; see ${STATE_DIR}/migrate.log"; tail -20 "${STATE_DIR}/migrate.log" >&2; exit 1; }
  seed
  save_template
}

restore_template() {
  say "starting ${INSTANCE} from a freshly seeded database"
  stop_server
  load_template
  as_root rm -rf "/var/cache/redmine/${INSTANCE}/tmp/cache"
}

seed() {
  say "seeding users, projects, memberships and issues"
  # A running Redmine may hold SQLite's write lock for a moment; the seed is safe to repeat, so it is.
  for attempt in 1 2 3; do
    (cd "${REDMINE_DIR}" && as_root env BUNDLER_VERSION=2.3.15 REDMINE_INSTANCE="${INSTANCE}" \
       bundle exec rails runner -e production "${SEED_FILE}" 2>"${STATE_DIR}/seed.log") \
       | grep '^SEED_JSON=' > "${STATE_DIR}/seed.out" || true
    if [ -s "${STATE_DIR}/seed.out" ]; then return; fi
    cp "${STATE_DIR}/seed.log" "${STATE_DIR}/seed.${attempt}.log"
    say "seeding attempt ${attempt} failed: $(grep -m1 -E 'Error|error' "${STATE_DIR}/seed.log" | cut -c1-200)"
    sleep 3
  done
  say "seeding failed; see ${STATE_DIR}/seed.*.log"
  grep -m3 -E 'Error|error' "${STATE_DIR}/seed.log" >&2
  exit 1
}

server_command() {
  if [ "${ENGINE}" = pgsql ]; then
    # Cluster mode: WORKERS processes of THREADS threads each, the way Redmine is served in production.
    echo bundle exec puma -e production -w "${WORKERS}" -t "${THREADS}:${THREADS}" --preload \
      -b "tcp://127.0.0.1:${PORT}" --pidfile "${STATE_DIR}/server.pid" config.ru
  else
    echo bundle exec rails server -u webrick -e production -b 127.0.0.1 -p "${PORT}" -P "${STATE_DIR}/server.pid"
  fi
}

start_server() {
  if answers; then say "already running at ${URL}"; return; fi
  say "starting Redmine at ${URL}"
  # Popen closes every inherited descriptor: a pipe left open in the server would keep whoever
  # reads this script's output waiting for ever.
  (cd "${REDMINE_DIR}" && python3 -c '
import subprocess, sys
log = open(sys.argv[1], "ab")
subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
' "${STATE_DIR}/server.log" env BUNDLER_VERSION=2.3.15 REDMINE_INSTANCE="${INSTANCE}" \
     $(server_command))
  for _ in $(seq 1 120); do
    if answers; then say "answering after start"; return; fi
    sleep 0.5
  done
  say "Redmine did not answer within 60 s; see ${STATE_DIR}/server.log"
  tail -20 "${STATE_DIR}/server.log" >&2
  exit 1
}

stop_server() {
  if [ -f "${STATE_DIR}/server.pid" ]; then
    pid="$(cat "${STATE_DIR}/server.pid")"
    kill -- "-${pid}" 2>/dev/null || kill "${pid}" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.25; done
    rm -f "${STATE_DIR}/server.pid"
    say "stopped"
  fi
}

report() {
  local json key version
  json="$(sed 's/^SEED_JSON=//' "${STATE_DIR}/seed.out")"
  key="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["admin_key"])' "$json")"
  version="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["redmine_version"])' "$json")"
  echo "REDMINE_URL=${URL}"
  echo "REDMINE_ADMIN_KEY=${key}"
  echo "REDMINE_VERSION=${version}"
  echo "REDMINE_SERVER=$([ "${ENGINE}" = pgsql ] && echo "PostgreSQL, Puma ${WORKERS}x${THREADS}" || echo "SQLite, WEBrick")"
  echo "SEED_JSON=${json}"
}

case "${1:-start}" in
  start|fresh)
    mkdir -p "${STATE_DIR}"
    started=$(date +%s)
    install_packages
    install_web_server
    create_instance
    if [ "$1" = fresh ]; then restore_template; fi
    seed
    start_server
    say "ready in $(( $(date +%s) - started )) s"
    report
    ;;
  stop) stop_server ;;
  status) answers ;;
  *) echo "usage: $0 [start|fresh|stop|status]" >&2; exit 2 ;;
esac
