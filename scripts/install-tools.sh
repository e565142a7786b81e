#!/usr/bin/env bash
# Installs SumStream's external command-line tools, each pinned to an exact version (PINS below),
# into a per-user cache that every clone on this machine shares, and prints the bin directory that
# holds them all. Idempotent (an installed pin costs a file check); safe to run concurrently.
#
# Usage: scripts/install-tools.sh TOOL...         install the missing ones; print the bin dir last
#        scripts/install-tools.sh --pinned TOOL   print "VERSION PATH" of the pinned install, or
#                                                 nothing and exit 1 when it is not installed
# Tools: grpcurl k6 ghz bombardier docker-compose kubernetes-validate
#
# Where: ${SUMSTREAM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sumstream/tools}
#   <tool>/<version>/bin/<tool>   the install (for kubernetes-validate the folder is a virtualenv)
#   <tool>/<version>/.complete    written last; a folder without it is a broken install, redone
#   bin/<tool>                    -> ../<tool>/<version>/bin/<tool>, the version pinned here
# Bumping a pin installs the new version beside the old one (old folders can be deleted by hand).
# src/dev-stack/toolPath.ts applies the same rule and reads the pins from this file.
#
#   go-install   `go install MODULE/PACKAGE@VERSION` from the Go module proxy (needs Go); ghz and
#                bombardier are the non-Node gRPC and HTTP clients of `npm run bench`
#   go-build     Docker Compose v2 from its Go module (needs Go); offline `docker-compose config`
#                only, there is no Docker engine here. Its go.mod has exclude directives, which
#                `go install module@version` refuses, so the module is downloaded and built with
#                `go build`: up to about 20 minutes the first time on 2 cores (135 s measured on
#                2 cores with Go 1.26 and a fast module proxy), ~10 s when only the Go caches are
#                warm, nothing once installed.
#   pip          the PyPI package in a virtualenv of its own (needs python3 with venv);
#                kubernetes-validate ships the Kubernetes API schemas, so validation is offline
set -euo pipefail
# One compound command, read whole before it runs: editing this file (a pin bump, a git pull)
# while an install is under way cannot change what the running install does.
{

TOOLS="${SUMSTREAM_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME:?HOME is not set; set SUMSTREAM_TOOLS_DIR}/.cache}/sumstream/tools}"
TOOLS="$(realpath -m "$TOOLS")" # a relative SUMSTREAM_TOOLS_DIR is relative to the caller's directory
cd "$(dirname "$0")/.."
BIN="$TOOLS/bin"

# One tool per line: name, exact version, installer, source (go-install: package, then optionally
# the variable set to the version; go-build: module, package, and that variable). Look new versions up with `go list -m -versions MODULE` (the
# proxy's list can lag: check `go list -m MODULE@vX.Y.Z` for a release it does not show) and
# `pip index versions NAME`. Keep this format: src/dev-stack/toolPath.ts parses it.
PINS='
grpcurl               v1.9.4    go-install  github.com/fullstorydev/grpcurl/cmd/grpcurl main.version
k6                    v1.8.1    go-install  go.k6.io/k6
ghz                   v0.120.0  go-install  github.com/bojand/ghz/cmd/ghz main.version
bombardier            v1.2.6    go-install  github.com/codesenberg/bombardier main.version
docker-compose        v2.40.3   go-build    github.com/docker/compose/v2 ./cmd github.com/docker/compose/v2/internal.Version
kubernetes-validate   1.37.0    pip         kubernetes-validate
'
declare -A VERSION=() KIND=() SOURCE=()
while read -r tool version kind source; do
  if [[ -z "$tool" ]]; then continue; fi
  VERSION[$tool]=$version KIND[$tool]=$kind SOURCE[$tool]=$source
done <<<"$PINS"

known() {
  if [[ -z "${VERSION[$1]:-}" ]]; then
    echo "install-tools: unknown tool $1 (known: ${!VERSION[*]})" >&2
    exit 2
  fi
}
dest_of() { echo "$TOOLS/$1/${VERSION[$1]}"; }
installed() { [[ -f "$(dest_of "$1")/.complete" && -x "$(dest_of "$1")/bin/$1" ]]; }

if [[ "${1:-}" == --pinned ]]; then
  if [[ $# -ne 2 ]]; then echo "usage: scripts/install-tools.sh --pinned TOOL" >&2; exit 2; fi
  known "$2"
  if ! installed "$2"; then exit 1; fi
  echo "${VERSION[$2]} $(dest_of "$2")/bin/$2"
  exit 0
fi
if [[ $# -eq 0 ]]; then echo "usage: scripts/install-tools.sh TOOL... (known: ${!VERSION[*]})" >&2; exit 2; fi
for tool in "$@"; do known "$tool"; done

mkdir -p "$BIN"
STAGE=""
trap 'if [[ -n "$STAGE" ]]; then rm -rf "$STAGE"; fi' EXIT

# Go 1.21+ fetches the toolchain a module's go.mod asks for (GOTOOLCHAIN=auto; these pins need up
# to go1.25) from the module proxy; older ones cannot, and Debian bookworm's golang-go is 1.19.
need_go() {
  local version
  version="$(go env GOVERSION 2>/dev/null || true)"
  if [[ ! "$version" =~ ^go1\.([0-9]+) ]] || ((BASH_REMATCH[1] < 21)); then
    echo "install-tools: Go 1.21 or newer is needed (found: ${version:-none}); install it from https://go.dev/dl/ (Debian's golang-go is too old), then run this again" >&2
    exit 1
  fi
}

# Builds into a staging folder beside the install and renames it into place once complete, so a
# killed build never leaves a folder that looks installed.
install_one() {
  local tool=$1 version=${VERSION[$1]} dest
  dest="$(dest_of "$tool")"
  rm -rf "$dest" # a broken earlier attempt
  mkdir -p "$TOOLS/$tool"
  case "${KIND[$tool]}" in
    go-install)
      need_go
      local package version_var
      read -r package version_var <<<"${SOURCE[$tool]}"
      echo "SumStream: installing $tool $version with go install $package@$version ..." >&2
      STAGE="$(mktemp -d "$TOOLS/$tool/.$version.XXXXXX")"
      GOBIN="$STAGE/bin" GOFLAGS=-mod=mod go install ${version_var:+-ldflags "-X $version_var=$version"} "$package@$version"
      ;;
    go-build)
      need_go
      local module package version_var dir
      read -r module package version_var <<<"${SOURCE[$tool]}"
      echo "SumStream: building $tool $version from $module@$version (go build $package; up to ~20 min the first time on 2 cores) ..." >&2
      dir="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
      if [[ -z "$dir" || ! -f "$dir/go.mod" ]]; then echo "install-tools: go mod download $module@$version gave no module directory" >&2; exit 1; fi
      STAGE="$(mktemp -d "$TOOLS/$tool/.$version.XXXXXX")"
      # The module cache is read-only; build from a writable copy (go.sum may be completed).
      mkdir "$STAGE/src"
      cp -R "$dir/." "$STAGE/src/"
      chmod -R u+w "$STAGE/src"
      (cd "$STAGE/src" && GOFLAGS=-mod=mod go build -trimpath ${version_var:+-ldflags "-X $version_var=$version"} -o "$STAGE/bin/$tool" "$package")
      rm -rf "$STAGE/src"
      ;;
    pip)
      # A virtualenv cannot be moved (its scripts name their interpreter by absolute path): it is
      # made in place, and .complete marks it done.
      echo "SumStream: installing $tool $version with pip install ${SOURCE[$tool]}==$version (virtualenv $dest) ..." >&2
      python3 -m venv "$dest" || { rm -rf "$dest"; echo "install-tools: python3 -m venv failed: apt-get install python3-venv, then run this again" >&2; exit 1; }
      if ! "$dest/bin/pip" install --quiet --disable-pip-version-check "${SOURCE[$tool]}==$version"; then
        rm -rf "$dest"
        echo "install-tools: pip install ${SOURCE[$tool]}==$version failed" >&2
        exit 1
      fi
      touch "$dest/.complete"
      return
      ;;
  esac
  if [[ ! -x "$STAGE/bin/$tool" ]]; then echo "install-tools: the $tool build produced no bin/$tool" >&2; exit 1; fi
  touch "$STAGE/.complete"
  mv -T "$STAGE" "$dest"
  STAGE=""
}

for tool in "$@"; do
  if ! installed "$tool"; then
    # One installer per tool at a time (a test run beside a developer's shell, or two clones); the
    # second waits and then finds it installed.
    exec 9>"$TOOLS/.install-$tool.lock"
    flock 9
    if ! installed "$tool"; then install_one "$tool"; fi
    exec 9>&-
  fi
  # bin/<tool> names this file's pin (another clone may have linked another version).
  target="../$tool/${VERSION[$tool]}/bin/$tool"
  if [[ "$(readlink "$BIN/$tool" 2>/dev/null)" != "$target" ]]; then
    ln -sfn "$target" "$BIN/.$tool.$$"
    mv -Tf "$BIN/.$tool.$$" "$BIN/$tool"
  fi
done
echo "$BIN"
exit
}
