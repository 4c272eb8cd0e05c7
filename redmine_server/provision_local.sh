#!/usr/bin/env bash
# Provisions and runs a local Redmine 5.0.4 from Debian's packages, for machines
# with no Docker engine (CI among them). Idempotent: each step checks first.
#
#   provision_local.sh start   install if needed, seed, start; prints URL and key
#   provision_local.sh stop    stop the server this script started
#   provision_local.sh status  exit 0 when the server answers
#
# Output lines meant for machines start with REDMINE_URL=, REDMINE_ADMIN_KEY=,
# REDMINE_VERSION= and SEED_JSON=; progress goes to stderr.
set -euo pipefail

PORT="${REDMINE_LOCAL_PORT:-3301}"
STATE_DIR="${REDMINE_STATE_DIR:-/tmp/bridge-redmine}"
REDMINE_DIR=/usr/share/redmine
HERE="$(cd "$(dirname "$0")" && pwd)"
URL="http://127.0.0.1:${PORT}"
# Debian's default bundler (2.3.27) treats Debian's gems as missing; 2.3.15 does not.
export BUNDLER_VERSION=2.3.15 REDMINE_INSTANCE=default RAILS_ENV=production

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
  if dpkg -l redmine | grep -q '^i[^i]' || [ -n "$(dpkg --audit 2>/dev/null)" ]; then
    say "completing the package configuration (database migrations)"
    as_root env DEBIAN_FRONTEND=noninteractive BUNDLER_VERSION=2.3.15 dpkg --configure -a >&2
  fi
}

install_web_server() {
  if ! grep -qs 'gem "webrick"' "${REDMINE_DIR}/Gemfile.local"; then
    say "adding webrick to Redmine's Gemfile.local"
    echo 'gem "webrick"' | as_root tee -a "${REDMINE_DIR}/Gemfile.local" >/dev/null
  fi
  (cd "${REDMINE_DIR}" && as_root env BUNDLER_VERSION=2.3.15 bundle install --local >/dev/null 2>&1) \
    || { say "bundle install --local failed"; exit 1; }
}

seed() {
  say "seeding users, projects, memberships and issues"
  (cd "${REDMINE_DIR}" && as_root env BUNDLER_VERSION=2.3.15 REDMINE_INSTANCE=default \
     bundle exec rails runner -e production "${HERE}/seed.rb" 2>"${STATE_DIR}/seed.log") \
     | grep '^SEED_JSON=' > "${STATE_DIR}/seed.out" || true
  if [ ! -s "${STATE_DIR}/seed.out" ]; then
    say "seeding failed; see ${STATE_DIR}/seed.log"
    tail -20 "${STATE_DIR}/seed.log" >&2
    exit 1
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
' "${STATE_DIR}/server.log" env BUNDLER_VERSION=2.3.15 REDMINE_INSTANCE=default \
     bundle exec rails server -u webrick -e production -b 127.0.0.1 -p "${PORT}" -P "${STATE_DIR}/server.pid")
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
  echo "SEED_JSON=${json}"
}

case "${1:-start}" in
  start)
    mkdir -p "${STATE_DIR}"
    started=$(date +%s)
    install_packages
    install_web_server
    seed
    start_server
    say "ready in $(( $(date +%s) - started )) s"
    report
    ;;
  stop) stop_server ;;
  status) answers ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
