#!/usr/bin/env bash
# Make sure everything SumStream needs on this machine is present:
#   - PostgreSQL server binaries (/usr/lib/postgresql/<ver>/bin/pg_ctl), unless DATABASE_URL is set
#   - RabbitMQ (/usr/lib/rabbitmq/bin/rabbitmq-server), unless AMQP_URL is set
#   - Prometheus + promtool and prometheus-postgres-exporter, unless SUMSTREAM_OBSERVABILITY=false
#   - Chromium (/usr/bin/chromium), with SUMSTREAM_BROWSER_TESTS=true (as npm test sets it): the
#     status page's browser test drives it through playwright-core
#   - with --cluster (npm run cluster, the cluster chaos run): HAProxy, nftables and iproute2, and for
#     `--pg-ha` Patroni, etcd and Debian's PostgreSQL (Patroni needs its pg_basebackup and pg_rewind)
#   - npm dependencies (npm ci when node_modules is missing or older than package-lock.json)
# Idempotent; prints nothing when everything is already present.
# Which PostgreSQL version gets used is decided by src/dev-stack/postgresInstance.ts
# (SUMSTREAM_PG_BIN if set, else the highest /usr/lib/postgresql/*/bin).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RABBIT_SERVER="${SUMSTREAM_RABBIT_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}"

have_postgres() {
  if [[ -n "${SUMSTREAM_PG_BIN:-}" && -x "${SUMSTREAM_PG_BIN}/pg_ctl" ]]; then return 0; fi
  compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null
}
have_rabbit() { [[ -x "$RABBIT_SERVER" ]]; }

CLUSTER=false
for arg in "$@"; do
  case "$arg" in
    --cluster) CLUSTER=true ;;
    *) echo "ensure-system-deps.sh: unknown option $arg (only --cluster)" >&2; exit 2 ;;
  esac
done

packages=()
if [[ "$CLUSTER" == true ]]; then
  command -v haproxy >/dev/null 2>&1 || packages+=(haproxy)
  command -v nft >/dev/null 2>&1 || packages+=(nftables)
  command -v ip >/dev/null 2>&1 || packages+=(iproute2)
  command -v patroni >/dev/null 2>&1 || packages+=(patroni)
  command -v etcd >/dev/null 2>&1 || packages+=(etcd-server)
  compgen -G '/usr/lib/postgresql/*/bin/pg_basebackup' >/dev/null || packages+=(postgresql)
fi
if [[ -z "${DATABASE_URL:-}" ]] && ! have_postgres; then packages+=(postgresql); fi
if [[ -z "${AMQP_URL:-}" ]] && ! have_rabbit; then packages+=(rabbitmq-server); fi
# Prometheus (with promtool) and the PostgreSQL exporter, for `npm start` and the observability tests.
case "${SUMSTREAM_OBSERVABILITY:-true}" in
  0|false|no|off) ;;
  *)
    command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
    command -v prometheus-postgres-exporter >/dev/null 2>&1 || packages+=(prometheus-postgres-exporter)
    ;;
esac
# Headless Chromium for test/e2e/statusPage.e2e.test.ts; npm start does not need it.
case "${SUMSTREAM_BROWSER_TESTS:-false}" in
  1|true|yes|on) [[ -x /usr/bin/chromium ]] || packages+=(chromium) ;;
esac

if ((${#packages[@]} > 0)); then
  if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "SumStream: missing ${packages[*]} and not root (no sudo available)." >&2
    echo "  Install as root: apt-get install -y --no-install-recommends ${packages[*]}" >&2
    echo "  or point SumStream at existing servers with DATABASE_URL=postgres://... and AMQP_URL=amqp://..." >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "SumStream: apt-get not found; install ${packages[*]} with your package manager" >&2
    echo "  (PostgreSQL >= 14 server binaries and RabbitMQ >= 3.10), or set DATABASE_URL / AMQP_URL." >&2
    exit 1
  fi
  for p in "${packages[@]}"; do echo "SumStream: installing ${p} from Debian packages..."; done
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
  # The Debian packages start system services where an init system exists; SumStream runs its own
  # project-owned instances on other ports, so the system services are not needed (and harmless).
  if [[ -z "${DATABASE_URL:-}" ]] && ! have_postgres; then
    echo "SumStream: postgresql installed but no /usr/lib/postgresql/*/bin/pg_ctl found" >&2; exit 1
  fi
  if [[ -z "${AMQP_URL:-}" ]] && ! have_rabbit; then
    echo "SumStream: rabbitmq-server installed but $RABBIT_SERVER not found" >&2; exit 1
  fi
fi

# npm dependencies
cd "$REPO_ROOT"
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "SumStream: installing npm dependencies (npm ci)..."
  npm ci --no-audit --no-fund
fi
