#!/usr/bin/env bash
# npm test: install what is missing, type-check, then run every test (unit, integration against
# real PostgreSQL and RabbitMQ started for the run, end to end with real processes, the status
# page in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
SUMSTREAM_BROWSER_TESTS="${SUMSTREAM_BROWSER_TESTS:-true}" bash scripts/ensure-system-deps.sh
echo "SumStream: type-checking"
npx tsc --noEmit
exec npx vitest run "$@"
