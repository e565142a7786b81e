#!/usr/bin/env bash
# Fetches Debezium Server (io.debezium:debezium-server-dist:<version>:tar.gz) from Maven Central
# with Maven and unpacks it into the per-user cache that every clone on this machine shares:
# ${XDG_CACHE_HOME:-$HOME/.cache}/sumstream/debezium/<version> (src/dev-stack/toolPath.ts's
# debeziumHome() applies the same rule).
# Usage: scripts/fetch-debezium.sh [version]    (default: SUMSTREAM_DEBEZIUM_VERSION, else 3.6.1.Final)
# Idempotent and safe to run concurrently; prints the install directory (the one holding run.sh).
# Needs mvn and tar. Running the server needs Java 21+ (Debezium Server 3.x is compiled for 21);
# src/dev-stack/debeziumInstance.ts finds one and starts it.
set -euo pipefail
# One compound command, read whole before it runs: editing this file (a pin bump, a git pull)
# while an install is under way cannot change what the running install does.
{

VERSION="${1:-${SUMSTREAM_DEBEZIUM_VERSION:-3.6.1.Final}}"
ROOT="${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/sumstream/debezium"
ROOT="$(realpath -m "$ROOT")"
DEST="$ROOT/$VERSION"
ARTIFACT="io.debezium:debezium-server-dist:$VERSION:tar.gz"
# The sink and the connector SumStream uses; the dist must contain both.
REQUIRED_JARS=("debezium-server-rabbitmq-$VERSION.jar" "debezium-connector-postgres-$VERSION.jar")

if [[ -f "$DEST/.complete" ]]; then echo "$DEST"; exit 0; fi

for tool in mvn tar flock; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    case "$tool" in
      mvn) echo "fetch-debezium: Maven (mvn) is not installed: apt-get install maven (it fetches $ARTIFACT from Maven Central)." >&2 ;;
      *) echo "fetch-debezium: $tool is not installed: apt-get install ${tool/flock/util-linux}." >&2 ;;
    esac
    exit 1
  fi
done

mkdir -p "$ROOT"
exec 9>"$ROOT/.$VERSION.lock"
flock 9 # another fetch of the same version (a test run beside npm start) waits here
if [[ -f "$DEST/.complete" ]]; then echo "$DEST"; exit 0; fi

echo "fetch-debezium: fetching $ARTIFACT with Maven (about 780 MB the first time; later runs use ~/.m2)..." >&2
work="$ROOT/.$VERSION.unpack.$$"
rm -rf "$work" "$DEST"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
if ! mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
  -Dartifact="$ARTIFACT" -DoutputDirectory="$work" -Dmdep.overWriteReleases=true >"$work/mvn.log" 2>&1; then
  cat "$work/mvn.log" >&2
  echo "fetch-debezium: Maven could not fetch $ARTIFACT. Check that Maven Central is reachable and that" >&2
  echo "  the version exists (SUMSTREAM_DEBEZIUM_VERSION); 3.6.1.Final is the tested one." >&2
  exit 1
fi
echo "fetch-debezium: unpacking into $DEST ..." >&2
# The extra connectors (Cassandra, DSE) are not needed: skip their 350 MB.
tar -xzf "$work/debezium-server-dist-$VERSION.tar.gz" -C "$work" --exclude='debezium-server/connectors/*'
for jar in "${REQUIRED_JARS[@]}"; do
  if [[ ! -f "$work/debezium-server/lib/$jar" ]]; then
    echo "fetch-debezium: $ARTIFACT has no lib/$jar; SumStream needs the PostgreSQL connector and the RabbitMQ sink." >&2
    exit 1
  fi
done
mv "$work/debezium-server" "$DEST"
touch "$DEST/.complete"
echo "$DEST"
exit
}
