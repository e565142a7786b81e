#!/usr/bin/env bash
# npm run k6 -- SCRIPT [k6 run options]: runs load/k6/SCRIPT.js (grpc-add, rest-sum, or both one after
# the other) against a SumStream stack on this machine, installing k6 first when it is missing
# (the pinned go.k6.io/k6, by scripts/install-tools.sh into the per-user cache ~/.cache/sumstream/tools).
#
# The scripts read PROFILE (original | compressed), TIME_SCALE, VU_SCALE, TARGET_HOST, GRPC_TARGET,
# REST_TARGET, CONNECTION, P95_MS, P99_MS and MAX_ERROR_RATE from the environment (load/k6/profile.js).
# Example: PROFILE=compressed VU_SCALE=0.1 npm run k6 -- both
# Summaries are exported to .sumstream/load/k6-<timestamp>/<script>.json. After grpc-add, the sum
# check (src/load/k6SumCheck.ts) waits for GET /sum to equal its value before the run plus the a + b
# of every Add answered OK (CHECK_SUM=0 skips it). Exit status: k6's (99 when a threshold failed),
# else 1 when the sum check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: bash scripts/k6.sh grpc-add|rest-sum|both [k6 run options...]" >&2; }
if [[ $# -lt 1 ]]; then usage; exit 2; fi
case "$1" in
  grpc-add | rest-sum) scripts=("$1") ;;
  both) scripts=(grpc-add rest-sum) ;;
  -h | --help) usage; exit 0 ;;
  *) echo "unknown script $1" >&2; usage; exit 2 ;;
esac
shift

started=$(date +%s)
BIN="$(bash scripts/install-tools.sh k6 | tail -n 1)"
if (($(date +%s) - started > 5)); then echo "SumStream: k6 installed in $(($(date +%s) - started)) s" >&2; fi

# Each VU holds at least one socket: 15,000 VUs need more than the usual 1,024 open files.
want=65536
hard="$(ulimit -Hn)"
if [[ "$hard" != unlimited ]] && ((hard < want)); then want="$hard"; fi
ulimit -n "$want" 2>/dev/null || echo "SumStream: could not raise the open-files limit to $want (now $(ulimit -n))" >&2
echo "SumStream: open-files limit $(ulimit -n)" >&2

out=".sumstream/load/k6-$(date -u +%Y-%m-%dT%H-%M-%SZ)"
mkdir -p "$out"
# After grpc-add: GET /sum must have grown by exactly the a + b of every Add answered OK
# (CHECK_SUM=0 skips it; it is exact only when nothing else writes to the stack meanwhile).
rest="${REST_TARGET:-http://${TARGET_HOST:-127.0.0.1}:4000}"
sum_check() { node --import tsx src/load/k6SumCheck.ts --rest "$rest" "$@"; }
status=0
for script in "${scripts[@]}"; do
  before=""
  if [[ "$script" == grpc-add && "${CHECK_SUM:-1}" == 1 ]]; then
    before="$(sum_check --read)" || { echo "SumStream: cannot read GET $rest/sum for the sum check; is the stack running? (CHECK_SUM=0 skips the check)" >&2; exit 1; }
  fi
  echo "SumStream: k6 run load/k6/$script.js (summary: $out/$script.json)" >&2
  "$BIN/k6" run --summary-export "$out/$script.json" "$@" "load/k6/$script.js" || status=$?
  if [[ -n "$before" ]]; then sum_check --before "$before" --summary "$out/$script.json" || status=$?; fi
done
exit "$status"
