#!/usr/bin/env bash
# Make sure a headless Chromium for the Playwright tests exists; print its path on stdout.
#
#   scripts/chromium.sh        -> /usr/bin/chromium
#
# Uses Debian's `chromium` package. If /usr/bin/chromium is missing it is installed with apt when
# CI=true or KEYSTEAD_INSTALL_DEPS=1 (root only); otherwise this fails and says how to install it.
# Never runs `playwright install`: browser downloads are not possible here. Point Playwright at the
# printed path (executable_path=...). Progress and apt output go to stderr. Idempotent.
set -euo pipefail

readonly CHROMIUM=/usr/bin/chromium

log() { printf 'chromium.sh: %s\n' "$*" >&2; }
die() { printf 'chromium.sh: error: %s\n' "$*" >&2; exit 1; }

is_true() { case "${1:-}" in 1 | true | TRUE | True | yes | YES) return 0 ;; *) return 1 ;; esac; }

install_chromium() {
    [[ $(id -u) -eq 0 ]] || die "$CHROMIUM is missing and installing it needs root:
  sudo apt-get install --no-install-recommends chromium"
    log "$CHROMIUM missing; installing Debian chromium with apt"
    # Lock::Timeout: wait for a concurrent apt/dpkg (e.g. scripts/pg.sh) instead of failing.
    apt-get -o DPkg::Lock::Timeout=600 update -q >&2
    local reinstall=()
    # Package recorded as installed but the file is gone: a plain install would be a no-op.
    if dpkg-query -W -f '${Status}' chromium 2>/dev/null | grep -q ' installed$'; then
        reinstall=(--reinstall)
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
        --no-install-recommends "${reinstall[@]}" chromium >&2
}

if [[ ! -x $CHROMIUM ]]; then
    if is_true "${CI:-}" || is_true "${KEYSTEAD_INSTALL_DEPS:-}"; then
        install_chromium
        [[ -x $CHROMIUM ]] || die "apt finished but $CHROMIUM is still missing"
    else
        die "$CHROMIUM not found. Install Debian's chromium:
  sudo apt-get install --no-install-recommends chromium
or let this script do it (as root):   KEYSTEAD_INSTALL_DEPS=1 $0"
    fi
fi

# Cheap sanity check that the binary and its libraries load (Debian's wrapper may print harmless
# '[: unexpected operator' noise from /etc/chromium.d/dev-shm on stderr).
version=$("$CHROMIUM" --version 2>/dev/null) || die "$CHROMIUM is present but does not run ($CHROMIUM --version failed)"
log "$version"
printf '%s\n' "$CHROMIUM"
