#!/usr/bin/env bash
# The whole suite, as `make test` and CI run it: lint, types, layer contracts, then the tests on
# SQLite (unit, integration, conformance with real relying parties, Chromium end to end), then
# the integration and admin API tiers again on a throwaway PostgreSQL server. Both stages run
# inside scripts/with-services.sh, so both have a throwaway Redis (KEYSTEAD_TEST_REDIS_URL) for
# the attack-protection tests, which run on in-process and on Redis counters.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONDONTWRITEBYTECODE=1
mkdir -p test-artifacts

echo "== lint and types"
LINTED=(src tests examples)
[[ -d bench ]] && LINTED+=(bench)
$BIN/ruff check "${LINTED[@]}"
$BIN/ruff format --check "${LINTED[@]}"
$BIN/lint-imports
$BIN/mypy

echo "== peers: Chromium and Node relying parties"
KEYSTEAD_CHROMIUM="$(bash scripts/chromium.sh)"
export KEYSTEAD_CHROMIUM
bash scripts/node-peers.sh

echo "== tests on SQLite"
bash scripts/with-services.sh $BIN/pytest -n 2 -q -p no:cacheprovider tests

echo "== tests on PostgreSQL (the tiers that touch the database in process)"
KEYSTEAD_TEST_DATABASE=postgres bash scripts/with-services.sh \
  $BIN/pytest -n 2 -q -p no:cacheprovider -m "not e2e" tests/integration tests/admin
