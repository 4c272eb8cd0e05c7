#!/usr/bin/env bash
# `make test` leaves the machine as it found it: before the tests, note which of the servers the tests may
# start are already running; after them, stop those that were not. The Redmine instances stop before the
# PostgreSQL cluster, which the production-shaped one keeps its database in.
#
#   services.sh snapshot FILE   write what runs now into FILE
#   services.sh restore FILE    stop what runs now and is not in FILE, then remove FILE
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REDMINE="${HERE}/../redmine_server/provision_local.sh"
POSTGRES="${HERE}/postgres/provision_local.sh"
INSTANCES="bridge-tests bridge-prod bridge-company"

running() {
  for instance in ${INSTANCES}; do
    REDMINE_LOCAL_INSTANCE="${instance}" "${REDMINE}" status >/dev/null 2>&1 && echo "redmine:${instance}"
  done
  "${POSTGRES}" status >/dev/null 2>&1 && echo "postgres"
  return 0
}

case "${1:-}" in
  snapshot) running > "$2" ;;
  restore)
    now="$(running)"
    for instance in ${INSTANCES}; do
      if grep -qx "redmine:${instance}" <<<"${now}" && ! grep -qx "redmine:${instance}" "$2" 2>/dev/null; then
        echo "[services] stopping Redmine ${instance}, which the tests started" >&2
        REDMINE_LOCAL_INSTANCE="${instance}" "${REDMINE}" stop >/dev/null 2>&1
      fi
    done
    if grep -qx "postgres" <<<"${now}" && ! grep -qx "postgres" "$2" 2>/dev/null; then
      echo "[services] stopping PostgreSQL, which the tests started" >&2
      "${POSTGRES}" stop >/dev/null 2>&1
    fi
    rm -f "$2"
    ;;
  *) echo "usage: $0 snapshot|restore FILE" >&2; exit 2 ;;
esac
