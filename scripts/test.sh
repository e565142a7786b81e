#!/usr/bin/env bash
# npm test: install what is missing (system packages, npm packages, the pinned external tools the
# tests use), type-check, then run the tiers one after the other, fastest first, each with its own
# wall time: unit (no server), int (real PostgreSQL and RabbitMQ started for the run), e2e (real
# processes, Debezium Server, the status page in headless Chromium), chaos (the short seeded runs,
# single-node and cluster; the cluster one needs root for its network namespaces).
#
#   npm test                       every tier
#   npm test -- unit int           the named tiers only
#   npm test -- test/e2e/x.e2e.test.ts   files or filters: one vitest run over every tier
set -euo pipefail
cd "$(dirname "$0")/.."
TIERS=(unit int e2e chaos)

setup_for_servers() {
  SUMSTREAM_BROWSER_TESTS=true bash scripts/ensure-system-deps.sh --cluster
  bash scripts/install-test-tools.sh
}

selected=()
for arg in "$@"; do
  case " ${TIERS[*]} " in *" $arg "*) selected+=("$arg") ;; *) selected=(); break ;; esac
done
if (($# > 0 && ${#selected[@]} == 0)); then
  # Not only tier names: hand the arguments to vitest as they are.
  setup_for_servers
  exec npx vitest run "$@"
fi
if ((${#selected[@]} == 0)); then selected=("${TIERS[@]}"); fi

needs_servers=false
for tier in "${selected[@]}"; do [[ "$tier" == unit ]] || needs_servers=true; done
if [[ "$needs_servers" == true ]]; then
  setup_for_servers
else
  SUMSTREAM_OBSERVABILITY=false DATABASE_URL=unused AMQP_URL=unused bash scripts/ensure-system-deps.sh
fi

echo "SumStream: type-checking"
npx tsc --noEmit

times=()
for tier in "${selected[@]}"; do
  echo "SumStream: tier $tier"
  start=$SECONDS
  npx vitest run --project "$tier"
  times+=("$tier $((SECONDS - start)) s")
done
echo "SumStream: wall time by tier: $(IFS=,; echo "${times[*]}" | sed 's/,/, /g')"
