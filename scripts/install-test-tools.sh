#!/usr/bin/env bash
# Installs every external tool the test suite needs, each pinned to an exact version, before the
# test runner starts (scripts/test.sh calls it). No test downloads or builds anything: a test whose
# tool is missing fails, naming this script.
#
#   grpcurl              test/e2e/grpcSurface.e2e.test.ts (the service by reflection); go install
#   kubernetes-validate  test/int/deployment.int.test.ts (deploy/k8s, offline); pip
#   docker-compose       test/int/deployment.int.test.ts (`docker-compose config`). Built from its Go
#                        module: up to about 20 minutes the first time on 2 cores, seconds afterwards
#   Debezium Server      test/contract/debezium.contract.test.ts; Maven, about 780 MB the first time
# Measured on a fresh 2-core machine (cold Go, pip and Maven caches; Go 1.26): 210 s in all
# (grpcurl 75 s, kubernetes-validate 15 s, docker-compose 135 s after grpcurl, Debezium 41 s); 0.05 s
# once everything is there.
#
# Everything lands in the per-user cache (scripts/install-tools.sh, scripts/fetch-debezium.sh), so
# every clone on this machine, and every later run, finds it installed. Debezium Server and the
# virtualenv download while the Go tools build. Prints one line per tool ("SumStream: grpcurl
# v1.9.4 ready"), and nothing else when everything is there already; exits 1 naming each tool that
# could not be installed (the installer's output is above) and the command to retry it.
# Needs Go, python3 with venv, mvn; running Debezium Server then needs Java 21+.
set -euo pipefail
# One compound command, read whole before it runs: editing this file (a pin bump, a git pull)
# while an install is under way cannot change what the running install does.
{
cd "$(dirname "$0")/.."

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

# Runs an installer; its stdout (the install path) and its wall time go to $results/<name>.*, its
# progress (stderr) to the terminal.
run_installer() {
  local name=$1 start=$SECONDS
  shift
  if "$@" >"$results/$name.out"; then
    echo "$((SECONDS - start))" >"$results/$name.seconds"
  else
    echo "$?" >"$results/$name.failed"
  fi
}

# Downloads (network-bound) in the background; the Go builds (CPU-bound) one after the other.
# The test suite runs the Debezium version that fetch-debezium.sh defaults to (DEBEZIUM_VERSION),
# whatever SUMSTREAM_DEBEZIUM_VERSION says for `npm start`.
run_installer debezium env -u SUMSTREAM_DEBEZIUM_VERSION bash scripts/fetch-debezium.sh &
run_installer kubernetes-validate bash scripts/install-tools.sh kubernetes-validate &
run_installer grpcurl bash scripts/install-tools.sh grpcurl
run_installer docker-compose bash scripts/install-tools.sh docker-compose
wait

failed=()
for name in grpcurl kubernetes-validate docker-compose debezium; do
  if [[ "$name" == debezium ]]; then
    label="Debezium Server"
    retry="bash scripts/fetch-debezium.sh"
    if [[ -f "$results/$name.seconds" ]]; then label+=" $(basename "$(tail -n 1 "$results/$name.out")")"; fi
  else
    retry="bash scripts/install-tools.sh $name"
    label="$name"
    if [[ -f "$results/$name.seconds" ]]; then
      if ! pinned="$(bash scripts/install-tools.sh --pinned "$name")"; then
        echo "$name: install-tools.sh succeeded, but --pinned finds no install" >"$results/$name.failed"
      else
        label+=" ${pinned%% *}"
      fi
    fi
  fi
  if [[ -f "$results/$name.failed" ]]; then
    echo "SumStream: $label could not be installed (see the output above); retry with: $retry" >&2
    failed+=("$name")
    continue
  fi
  seconds="$(cat "$results/$name.seconds")"
  if ((seconds >= 2)); then
    echo "SumStream: $label ready (installed in $seconds s)"
  else
    echo "SumStream: $label ready"
  fi
done
if ((${#failed[@]} > 0)); then
  echo "SumStream: the tests need ${failed[*]}; fix the install above and run bash scripts/install-test-tools.sh again." >&2
  exit 1
fi
exit
}
