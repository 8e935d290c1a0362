#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the integration tests and benchmarks:
#   scripts/postgres.sh up     install Debian's postgresql if missing, initdb under .cache/postgres,
#                              start it on 127.0.0.1:${PG_PORT:-54329} with trust auth on loopback
#   scripts/postgres.sh down   stop it and remove the cluster
# Idempotent: `up` on a running cluster exits 0 at once. No unix socket (paths can be too long). The cluster belongs to the `postgres` OS
# user because the server refuses to run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_PORT="${PG_PORT:-54329}"
ROOT="$(pwd)/.cache/postgres"
# When the postgres user cannot reach the checkout (a home directory of mode 700), the cluster
# lives in /var/tmp under a name derived from the checkout path instead.
FALLBACK_ROOT="/var/tmp/aerofn-postgres-$(pwd | md5sum | cut -c1-12)"
[ -f "$ROOT/data/PG_VERSION" ] || [ ! -f "$FALLBACK_ROOT/data/PG_VERSION" ] || ROOT="$FALLBACK_ROOT"
DATA="$ROOT/data"
LOG="$ROOT/server.log"

as_postgres() {
  # From / so that a checkout the postgres user cannot enter does not matter (paths are absolute).
  if [ "$(id -un)" = postgres ]; then (cd / && "$@"); else (cd / && runuser -u postgres -- "$@"); fi
}

find_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

install_postgres() {
  if find_bin >/dev/null; then return; fi
  echo "postgres.sh: installing Debian's postgresql (once)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # The Debian package would create and start its own cluster on 5432; we only want the binaries.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/aerofn-no-main.conf
  apt-get install -y -qq postgresql >/dev/null
}

is_running() {
  local bin="$1"
  [ -f "$DATA/PG_VERSION" ] && as_postgres "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

up() {
  install_postgres
  local bin
  bin="$(find_bin)" || { echo "postgres.sh: no PostgreSQL binaries under /usr/lib/postgresql/*/bin" >&2; exit 1; }
  if is_running "$bin"; then exit 0; fi
  # A server of another checkout (or a previous run) already on the port is reused, as kafka.sh does.
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    echo "postgres.sh: 127.0.0.1:$PG_PORT already answers; leaving it as it is" >&2
    exit 0
  fi
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  mkdir -p "$ROOT"
  # The postgres user must be able to reach the cluster through the checkout's directories.
  chmod o+x "$(pwd)" "$(pwd)/.cache" 2>/dev/null || true
  chown postgres: "$ROOT"
  if ! as_postgres test -w "$ROOT"; then
    ROOT="$FALLBACK_ROOT" DATA="$FALLBACK_ROOT/data" LOG="$FALLBACK_ROOT/server.log"
    mkdir -p "$ROOT"
    chown postgres: "$ROOT"
  fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
    as_postgres "$bin/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    cat >"$DATA/pg_hba.conf" <<EOF
host  all all 127.0.0.1/32 trust
host  all all ::1/128 trust
EOF
  fi
  as_postgres "$bin/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $PG_PORT" -w -t 60 start >/dev/null
  for _ in $(seq 1 120); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
      echo "postgres.sh: PostgreSQL listening on 127.0.0.1:$PG_PORT" >&2
      exit 0
    fi
    sleep 0.5
  done
  echo "postgres.sh: the server did not answer on 127.0.0.1:$PG_PORT; see $LOG" >&2
  exit 1
}

down() {
  local bin
  if bin="$(find_bin)" && [ -f "$DATA/PG_VERSION" ]; then
    as_postgres "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$(pwd)/.cache/postgres" "$FALLBACK_ROOT"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
