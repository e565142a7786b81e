#!/usr/bin/env bash
# Fetches external command-line tools into .sumstream/tools (ignored by git) and prints the bin
# directory (.sumstream/tools/bin) that holds them all. Idempotent; safe to run concurrently.
# Usage: scripts/install-tools.sh grpcurl [k6] [ghz] [bombardier] [docker-compose] [kubernetes-validate]
#
#   grpcurl, k6, ghz,     `go install` from the Go module proxy (needs Go); ghz and bombardier are
#   bombardier            the non-Node gRPC and HTTP clients of `npm run bench`
#   docker-compose        Docker Compose v2 built from its Go module (needs Go); offline
#                         `docker-compose config` only here, there is no Docker engine. Its go.mod
#                         has exclude directives, which `go install module@version` refuses, so the
#                         module is downloaded and built with `go build` instead: about 20 minutes
#                         the first time on 2 cores, about 30 s again once the Go caches are warm.
#   kubernetes-validate   the PyPI package (it ships the Kubernetes API schemas, so validation is
#                         offline), in the virtualenv .sumstream/tools/venv (needs python3 with venv)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.sumstream/tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN"
WORK=""
trap 'if [[ -n "$WORK" ]]; then rm -rf "$WORK"; fi' EXIT
declare -A MODULES=(
  [grpcurl]=github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4
  [k6]=go.k6.io/k6@latest
  [ghz]=github.com/bojand/ghz/cmd/ghz@latest
  [bombardier]=github.com/codesenberg/bombardier@latest
)
# tool -> "module version package [variable set to the version]": downloaded with
# `go mod download`, built with `go build`.
declare -A BUILT_MODULES=(
  [docker-compose]="github.com/docker/compose/v2 v2.40.3 ./cmd github.com/docker/compose/v2/internal.Version"
)
declare -A PIP_PACKAGES=(
  [kubernetes-validate]=kubernetes-validate==1.37.0
)

need_go() {
  if ! command -v go >/dev/null 2>&1; then echo "Go is not installed: apt-get install golang-go, then run this again" >&2; exit 1; fi
}

install_one() {
  local tool=$1
  if [[ -n "${MODULES[$tool]:-}" ]]; then
    need_go
    echo "SumStream: installing $tool with go install ${MODULES[$tool]} ..." >&2
    GOBIN="$BIN" GOFLAGS=-mod=mod go install "${MODULES[$tool]}"
  elif [[ -n "${BUILT_MODULES[$tool]:-}" ]]; then
    need_go
    local module version package version_var dir
    read -r module version package version_var <<<"${BUILT_MODULES[$tool]}"
    echo "SumStream: building $tool from $module@$version (go build $package; minutes the first time) ..." >&2
    dir="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    if [[ -z "$dir" || ! -f "$dir/go.mod" ]]; then echo "go mod download $module@$version gave no module directory" >&2; exit 1; fi
    WORK="$(mktemp -d "$TOOLS/.build-$tool.XXXXXX")"
    # The module cache is read-only; build from a writable copy (go.sum may be completed).
    cp -R "$dir/." "$WORK/" && chmod -R u+w "$WORK"
    (cd "$WORK" && GOFLAGS=-mod=mod go build -trimpath ${version_var:+-ldflags "-X $version_var=$version"} -o "$BIN/.$tool.tmp" "$package")
    mv -f "$BIN/.$tool.tmp" "$BIN/$tool"
    rm -rf "$WORK"
    WORK=""
  elif [[ -n "${PIP_PACKAGES[$tool]:-}" ]]; then
    local venv="$TOOLS/venv"
    if [[ ! -x "$venv/bin/pip" ]]; then
      echo "SumStream: creating the virtualenv $venv ..." >&2
      python3 -m venv "$venv" || { echo "python3 -m venv failed: apt-get install python3-venv, then run this again" >&2; exit 1; }
    fi
    echo "SumStream: installing $tool with pip install ${PIP_PACKAGES[$tool]} ..." >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${PIP_PACKAGES[$tool]}"
    ln -sf "$venv/bin/$tool" "$BIN/$tool"
  else
    echo "unknown tool $tool (known: ${!MODULES[*]} ${!BUILT_MODULES[*]} ${!PIP_PACKAGES[*]})" >&2
    exit 2
  fi
}

for tool in "$@"; do
  if [[ -z "${MODULES[$tool]:-}${BUILT_MODULES[$tool]:-}${PIP_PACKAGES[$tool]:-}" ]]; then
    echo "unknown tool $tool (known: ${!MODULES[*]} ${!BUILT_MODULES[*]} ${!PIP_PACKAGES[*]})" >&2
    exit 2
  fi
  if [[ -x "$BIN/$tool" ]]; then continue; fi
  # One installer per tool at a time (a test run beside a developer's shell); the second waits.
  exec 9>"$TOOLS/.install-$tool.lock"
  flock 9
  if [[ ! -x "$BIN/$tool" ]]; then install_one "$tool"; fi
  exec 9>&-
done
echo "$BIN"
