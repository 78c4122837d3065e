#!/usr/bin/env bash
# Throwaway PostgreSQL server on 127.0.0.1 for tests.
#
#   scripts/pg.sh start DIR   init (first time) + start; writes the SQLAlchemy URL to DIR/url
#   scripts/pg.sh url DIR     print that URL
#   scripts/pg.sh stop DIR    stop the server (immediate) and remove DIR
#
# All three are idempotent: `start` on a running server and `stop` on a missing DIR are no-ops.
# `start` writes progress to stderr only; stdout stays empty.
#
# Binaries: newest /usr/lib/postgresql/*/bin. If absent, they are installed with apt when CI=true or
# KEYSTEAD_INSTALL_DEPS=1 (root only); otherwise this fails with instructions.
# PostgreSQL refuses to run as root, so as root everything runs as the `postgres` system user.
# Layout: DIR/data (cluster), DIR/sock (unix socket, 0700), DIR/postgres.log, DIR/url.
# Role `keystead` (LOGIN CREATEDB, no password: trust on loopback) owns database `keystead`.
set -euo pipefail

readonly PG_USER=postgres       # OS user that runs the server when we are root
readonly SUPERUSER=postgres     # database superuser created by initdb
readonly APP_ROLE=keystead
readonly APP_DB=keystead
readonly MARKER=.keystead-pg    # marks DIR as ours (stop refuses to delete anything else)
readonly READY=.ready           # written once role + database exist

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { printf 'pg.sh: error: %s\n' "$*" >&2; exit 1; }
usage() { printf 'usage: %s start|stop|url DIR\n' "$0" >&2; exit 2; }

is_true() { case "${1:-}" in 1 | true | TRUE | True | yes | YES) return 0 ;; *) return 1 ;; esac; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# Run a command as the server's OS user, from a directory that user can enter.
as_pg() {
    if is_root; then
        (cd / && runuser -u "$PG_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

find_bindir() {
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] || continue
        if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "${best%/bin}" "${d%/bin}" | sort -V | tail -n1) == "${d%/bin}" ]]; then
            best=$d
        fi
    done
    [[ -n $best ]] && printf '%s\n' "$best"
}

install_postgresql() {
    is_root || die "PostgreSQL is not installed and installing it needs root: sudo apt-get install postgresql"
    log "PostgreSQL not found under /usr/lib/postgresql/*/bin; installing it with apt"
    # The package would create and start a 'main' cluster on :5432 that nobody here uses.
    # This documented postgresql-common switch (read from createcluster.d) prevents that.
    mkdir -p /etc/postgresql-common/createcluster.d
    [[ -e /etc/postgresql-common/createcluster.d/keystead-no-main-cluster.conf ]] ||
        printf 'create_main_cluster = false\n' >/etc/postgresql-common/createcluster.d/keystead-no-main-cluster.conf
    # Lock::Timeout: wait for a concurrent apt/dpkg (e.g. scripts/chromium.sh) instead of failing.
    apt-get -o DPkg::Lock::Timeout=600 update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
        --no-install-recommends postgresql >&2
    if [[ -z $(find_bindir) ]]; then
        # Package recorded as installed but files missing: reinstall the server packages.
        local pkgs
        pkgs=$(dpkg-query -W -f '${Package} ${Status}\n' 'postgresql-[0-9]*' 2>/dev/null |
            awk '/ installed$/ {print $1}') || true
        [[ -n $pkgs ]] || pkgs=postgresql
        log "binaries still missing; reinstalling: $pkgs"
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
            --no-install-recommends --reinstall $pkgs >&2
    fi
}

ensure_bindir() {
    BINDIR=$(find_bindir) || true
    if [[ -z $BINDIR ]]; then
        if is_true "${CI:-}" || is_true "${KEYSTEAD_INSTALL_DEPS:-}"; then
            install_postgresql
            BINDIR=$(find_bindir) || true
            [[ -n $BINDIR ]] || die "apt installed postgresql but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
        else
            die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin.
  Install them:   sudo apt-get install --no-install-recommends postgresql
  or let this script do it (as root):   KEYSTEAD_INSTALL_DEPS=1 $0 start DIR"
        fi
    fi
    PSQL=$BINDIR/psql
    [[ -x $PSQL ]] || PSQL=$(command -v psql) || die "psql not found (apt-get install postgresql-client)"
}

ensure_pg_user() {
    is_root || return 0
    id -u "$PG_USER" >/dev/null 2>&1 && return 0
    log "creating system user $PG_USER"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$PG_USER"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Quote a value for postgresql.conf.
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

pg_running() { as_pg "$BINDIR/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1; }

pg_accepting() {
    [[ -n $(current_port) ]] &&
        as_pg "$BINDIR/pg_isready" -q -h "$DIR/sock" -p "$(current_port)" -U "$SUPERUSER" -d postgres -t 2
}

# For a server that pg_ctl reports as running: wait (<= ~15 s) until it accepts connections or is
# gone (a killed postmaster can linger as a zombie). Prints ready, down or stuck.
settle() {
    local _
    for _ in $(seq 1 150); do
        pg_running || { echo down; return; }
        pg_accepting && { echo ready; return; }
        sleep 0.1
    done
    echo stuck
}

current_port() { sed -n "s/^port = \([0-9]*\)$/\1/p" "$DIR/data/keystead-port.conf" 2>/dev/null; }

psql_admin() {
    as_pg "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$DIR/sock" -p "$(current_port)" -U "$SUPERUSER" -d postgres
}

write_url() {
    local tmp
    tmp=$(mktemp "$DIR/.url.XXXXXX")
    printf 'postgresql+psycopg://%s@127.0.0.1:%s/%s' "$APP_ROLE" "$(current_port)" "$APP_DB" >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$DIR/url"
}

init_cluster() {
    log "initdb in $DIR/data ($BINDIR)"
    rm -rf "${DIR:?}/data" "${DIR:?}/sock" "${DIR:?}/$READY" "${DIR:?}/url"
    as_pg mkdir -m 0700 "$DIR/sock"
    if ! as_pg "$BINDIR/initdb" -D "$DIR/data" -U "$SUPERUSER" -E UTF8 --locale=C -A trust -N \
        >"$DIR/initdb.log" 2>&1; then
        cat "$DIR/initdb.log" >&2
        die "initdb failed"
    fi
    # Loopback only: the socket (in a 0700 dir) and 127.0.0.1; no ::1, no other hosts.
    as_pg tee "$DIR/data/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
    as_pg tee -a "$DIR/data/postgresql.conf" >/dev/null <<EOF

# --- keystead throwaway test server (scripts/pg.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = $(conf_quote "$DIR/sock")
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
include_if_exists 'keystead-port.conf'
EOF
}

start_server() {
    local attempt port
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        printf 'port = %s\n' "$port" | as_pg tee "$DIR/data/keystead-port.conf" >/dev/null
        as_pg truncate -s 0 "$DIR/postgres.log"
        log "starting PostgreSQL on 127.0.0.1:$port"
        # 9>&-: the postmaster must not inherit (and so hold forever) our lock fd.
        if as_pg "$BINDIR/pg_ctl" start -D "$DIR/data" -l "$DIR/postgres.log" -w -t 60 -s >&2 9>&-; then
            return 0
        fi
        if grep -qiE 'could not bind|already in use' "$DIR/postgres.log" 2>/dev/null; then
            log "port $port was taken meanwhile; retrying ($attempt/5)"
            continue
        fi
        break
    done
    tail -n 30 "$DIR/postgres.log" >&2 2>/dev/null || true
    die "PostgreSQL failed to start (log: $DIR/postgres.log)"
}

create_app_db() {
    psql_admin <<EOF
SELECT 'CREATE ROLE $APP_ROLE LOGIN CREATEDB'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP_ROLE') \gexec
SELECT 'CREATE DATABASE $APP_DB OWNER $APP_ROLE ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$APP_DB') \gexec
EOF
}

cmd_start() {
    ensure_bindir
    ensure_pg_user
    # (List first, then look for the marker: a concurrent start creates the marker before anything else.)
    if [[ -d $DIR ]] && [[ -n $(ls -A -- "$DIR") ]] && [[ ! -e $DIR/$MARKER ]]; then
        die "refusing to use $DIR: it is not empty and was not created by $0 (use an empty or new directory)"
    fi
    mkdir -p "$DIR"
    [[ -e $DIR/$MARKER ]] || : >"$DIR/$MARKER"
    # Serialise concurrent `start`s on the same DIR.
    exec 9>"$DIR/.lock"
    flock 9
    if is_root; then
        chown "$PG_USER:" "$DIR"
        chmod 0755 "$DIR"
        runuser -u "$PG_USER" -- test -w "$DIR" -a -x "$DIR" ||
            die "$DIR is not reachable by the '$PG_USER' user (a parent directory is not traversable); use a directory under /tmp"
    fi
    # A unix socket path is limited to 107 bytes: DIR/sock/.s.PGSQL.NNNNN
    ((${#DIR} + 24 <= 107)) || die "DIR path too long for a unix socket (${#DIR} chars): $DIR"

    if [[ -e $DIR/$READY ]] && pg_running; then
        case $(settle) in
            ready)
                [[ -s $DIR/url ]] || write_url
                log "already running: $(cat "$DIR/url")"
                return 0
                ;;
            stuck)
                log "server in $DIR runs but does not answer; stopping it"
                as_pg "$BINDIR/pg_ctl" stop -D "$DIR/data" -m immediate -w -t 30 -s >&2 ||
                    die "cannot stop the unresponsive server in $DIR; kill it (pid in $DIR/data/postmaster.pid)"
                ;;
            down) log "server in $DIR is gone; restarting it" ;;
        esac
    fi
    if [[ ! -e $DIR/$READY || ! -s $DIR/data/PG_VERSION ]]; then
        # Fresh DIR, or an earlier start died half-way: start over.
        if [[ -s $DIR/data/PG_VERSION ]] && pg_running; then
            as_pg "$BINDIR/pg_ctl" stop -D "$DIR/data" -m immediate -w -s >&2 || true
        fi
        init_cluster
    fi
    start_server
    create_app_db
    : >"$DIR/$READY"
    write_url
    log "ready: $(cat "$DIR/url")"
}

cmd_url() {
    [[ -s $DIR/url && -e $DIR/$READY ]] || die "no server in $DIR (run: $0 start $DIR)"
    cat "$DIR/url"
    echo
}

cmd_stop() {
    [[ -e $DIR ]] || return 0
    if [[ -s $DIR/data/postmaster.pid ]]; then
        BINDIR=$(find_bindir) || true
        if [[ -n $BINDIR ]]; then
            # settle: a killed postmaster lingering as a zombie counts as stopped once reaped.
            if pg_running && [[ $(settle) != down ]]; then
                log "stopping PostgreSQL in $DIR"
                as_pg "$BINDIR/pg_ctl" stop -D "$DIR/data" -m immediate -w -t 60 -s >&2 ||
                    die "pg_ctl stop failed for $DIR/data"
            fi
        else
            local pid
            pid=$(head -n1 "$DIR/data/postmaster.pid")
            if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
                log "pg_ctl not found; sending SIGQUIT to postmaster $pid"
                kill -QUIT "$pid"
                local _
                for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            fi
        fi
    fi
    # Only delete what we created.
    if [[ -e $DIR/$MARKER ]]; then
        rm -rf -- "$DIR"
    elif rmdir -- "$DIR" 2>/dev/null; then
        :
    else
        die "refusing to delete $DIR: it was not created by $0 start"
    fi
}

main() {
    [[ $# -eq 2 ]] || usage
    local cmd=$1
    [[ -n $2 ]] || usage
    # Absolute path without requiring it to exist.
    DIR=$(realpath -m -- "$2")
    [[ $DIR != / ]] || die "DIR must not be /"
    # Keep libpq/psql from picking up a caller's connection settings.
    unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS PGDATA PGPASSFILE
    case $cmd in
        start) cmd_start ;;
        stop) cmd_stop ;;
        url) cmd_url ;;
        *) usage ;;
    esac
}

main "$@"
