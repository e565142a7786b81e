#!/usr/bin/env bash
# Fetches external command-line tools with `go install` into .sumstream/tools/bin (ignored by git).
# Usage: scripts/install-tools.sh grpcurl [k6] [ghz]
# Prints the bin directory. Needs Go and access to the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.sumstream/tools/bin"
mkdir -p "$BIN"
declare -A MODULES=(
  [grpcurl]=github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4
  [k6]=go.k6.io/k6@latest
  [ghz]=github.com/bojand/ghz/cmd/ghz@latest
)
for tool in "$@"; do
  module="${MODULES[$tool]:-}"
  if [[ -z "$module" ]]; then echo "unknown tool $tool (known: ${!MODULES[*]})" >&2; exit 2; fi
  if [[ -x "$BIN/$tool" ]]; then continue; fi
  if ! command -v go >/dev/null 2>&1; then echo "Go is not installed: apt-get install golang-go, then run this again" >&2; exit 1; fi
  echo "SumStream: installing $tool with go install $module ..." >&2
  GOBIN="$BIN" GOFLAGS=-mod=mod go install "$module"
done
echo "$BIN"
