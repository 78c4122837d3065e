#!/usr/bin/env bash
# Install the Node relying-party peers for the conformance tests (openid-client, oauth4webapi, jose)
# into tests/conformance/node/node_modules, exactly as pinned in package.json / package-lock.json.
#
#   scripts/node-peers.sh
#
# Runs `npm ci` only when node_modules is missing or older than package-lock.json / package.json
# (tracked by a stamp written after a successful install), so repeated runs are cheap. Idempotent.
set -euo pipefail

readonly NODE_MAJOR_MIN=20
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly PEERS_DIR=$ROOT/tests/conformance/node
readonly STAMP=node_modules/.keystead-npm-ci.stamp

log() { printf 'node-peers.sh: %s\n' "$*" >&2; }
die() { printf 'node-peers.sh: error: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 ||
    die "node not found; Node.js >= $NODE_MAJOR_MIN is required (Debian: apt-get install nodejs npm, or NodeSource)"
command -v npm >/dev/null 2>&1 || die "npm not found; install npm for Node.js $(node --version)"
major=$(node -p 'process.versions.node.split(".")[0]')
((major >= NODE_MAJOR_MIN)) || die "Node.js >= $NODE_MAJOR_MIN required, found $(node --version)"

cd "$PEERS_DIR"
[[ -f package.json && -f package-lock.json ]] ||
    die "$PEERS_DIR/package.json or package-lock.json is missing"

if [[ ! -d node_modules || ! -e $STAMP || package-lock.json -nt $STAMP || package.json -nt $STAMP ]]; then
    log "npm ci in $PEERS_DIR"
    rm -f "$STAMP"
    npm ci --no-audit --no-fund >&2
    touch "$STAMP"
else
    log "node_modules up to date"
fi

# The three packages are ESM-only: check they resolve and load.
node --input-type=module -e '
  await import("openid-client"); await import("oauth4webapi"); await import("jose");
' || die "installed peers do not load; remove $PEERS_DIR/node_modules and re-run"
