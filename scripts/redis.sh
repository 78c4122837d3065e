#!/usr/bin/env bash
# Throwaway Redis server on 127.0.0.1 for tests.
#
#   scripts/redis.sh start DIR   start (no-op when already running); writes the URL to DIR/url
#   scripts/redis.sh url DIR     print that URL
#   scripts/redis.sh stop DIR    stop the server and remove DIR
#
# All three are idempotent. `start` writes progress to stderr only; stdout stays empty.
# Binary: redis-server on PATH. If absent it is installed with apt when CI=true or
# KEYSTEAD_INSTALL_DEPS=1 (root only); otherwise this fails with instructions. A missing server
# is always an error, never a skip. The server listens on loopback only, on a random free port,
# keeps its data in DIR (no persistence: no RDB snapshots, no AOF) and needs no password.
set -euo pipefail

readonly MARKER=.keystead-redis  # marks DIR as ours (stop refuses to delete anything else)

log() { printf 'redis.sh: %s\n' "$*" >&2; }
die() { printf 'redis.sh: error: %s\n' "$*" >&2; exit 1; }
usage() { printf 'usage: %s start|stop|url DIR\n' "$0" >&2; exit 2; }
is_true() { case "${1:-}" in 1 | true | TRUE | True | yes | YES) return 0 ;; *) return 1 ;; esac; }

ensure_binary() {
    command -v redis-server >/dev/null 2>&1 && return 0
    if is_true "${CI:-}" || is_true "${KEYSTEAD_INSTALL_DEPS:-}"; then
        [[ $(id -u) -eq 0 ]] || die "redis-server is not installed and installing it needs root: sudo apt-get install redis-server"
        log "redis-server not found; installing it with apt"
        apt-get -o DPkg::Lock::Timeout=600 update -q >&2
        # policy-rc.d 101: the package must not start (or enable) a system-wide server on :6379.
        local policy=/usr/sbin/policy-rc.d created=""
        if [[ ! -e $policy ]]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
            --no-install-recommends redis-server >&2 || { [[ -z $created ]] || rm -f "$policy"; die "apt-get install redis-server failed"; }
        [[ -z $created ]] || rm -f "$policy"
        command -v redis-server >/dev/null 2>&1 || die "apt installed redis-server but it is not on PATH"
    else
        die "redis-server not found.
  Install it:   sudo apt-get install --no-install-recommends redis-server
  or let this script do it (as root):   KEYSTEAD_INSTALL_DEPS=1 $0 start DIR"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

running() {
    [[ -f $DIR/pid ]] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null
}

ping() {
    python3 - "$1" <<'PY'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
        s.sendall(b"PING\r\n")
        sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

start() {
    mkdir -p "$DIR"
    touch "$DIR/$MARKER"
    if running && ping "$(cat "$DIR/port")"; then
        log "already running on port $(cat "$DIR/port")"
        return 0
    fi
    ensure_binary
    local attempt port
    for attempt in 1 2 3; do
        port=$(free_port)
        rm -f "$DIR/pid"
        redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes --dir "$DIR" \
            --save '' --appendonly no --daemonize yes --pidfile "$DIR/pid" \
            --logfile "$DIR/redis.log" --maxmemory 256mb --maxmemory-policy volatile-ttl >&2 ||
            die "redis-server did not start (see $DIR/redis.log)"
        local i
        for i in $(seq 1 100); do
            if ping "$port"; then
                printf '%s\n' "$port" >"$DIR/port"
                printf 'redis://127.0.0.1:%s/0\n' "$port" >"$DIR/url"
                log "Redis ready on 127.0.0.1:$port"
                return 0
            fi
            sleep 0.1
        done
        log "Redis did not answer on port $port (attempt $attempt); retrying"
        [[ -f $DIR/pid ]] && kill "$(cat "$DIR/pid")" 2>/dev/null || true
    done
    die "Redis did not start; log: $(tail -n 20 "$DIR/redis.log" 2>/dev/null)"
}

stop() {
    [[ -d $DIR ]] || return 0
    [[ -f $DIR/$MARKER ]] || die "$DIR is not a directory made by redis.sh; not touching it"
    if running; then
        local pid i
        pid=$(cat "$DIR/pid")
        kill "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}

[[ $# -eq 2 ]] || usage
DIR=$2
case $1 in
    start) start ;;
    stop) stop ;;
    url) [[ -f $DIR/url ]] || die "no Redis started in $DIR"; cat "$DIR/url" ;;
    *) usage ;;
esac
