#!/usr/bin/env bash
# Run a command with throwaway test services, then tear them down.
#
#   scripts/with-services.sh CMD [ARGS...]
#
# Starts PostgreSQL (scripts/pg.sh) and Redis (scripts/redis.sh) in fresh temp dirs, exports
# KEYSTEAD_TEST_PG_URL and KEYSTEAD_TEST_REDIS_URL, runs CMD in the foreground, and always stops
# both afterwards (EXIT/INT/TERM). Exits with CMD's status (130/143 if interrupted). A service that
# fails to start is a hard error.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE

# shellcheck disable=SC2329  # used by cleanup
log() { printf 'with-services.sh: %s\n' "$*" >&2; }

[[ $# -ge 1 ]] || { printf 'usage: %s CMD [ARGS...]\n' "$0" >&2; exit 2; }

PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/keystead-pg.XXXXXXXX")
REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/keystead-redis.XXXXXXXX")
touch "$REDIS_DIR/.keystead-redis"

# shellcheck disable=SC2329  # invoked by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    "$HERE/pg.sh" stop "$PG_DIR" || { log "warning: could not stop PostgreSQL in $PG_DIR"; ((rc != 0)) || rc=1; }
    "$HERE/redis.sh" stop "$REDIS_DIR" || { log "warning: could not stop Redis in $REDIS_DIR"; ((rc != 0)) || rc=1; }
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$HERE/pg.sh" start "$PG_DIR"
KEYSTEAD_TEST_PG_URL=$("$HERE/pg.sh" url "$PG_DIR")
export KEYSTEAD_TEST_PG_URL
"$HERE/redis.sh" start "$REDIS_DIR"
KEYSTEAD_TEST_REDIS_URL=$("$HERE/redis.sh" url "$REDIS_DIR")
export KEYSTEAD_TEST_REDIS_URL

rc=0
"$@" || rc=$?
exit "$rc"
