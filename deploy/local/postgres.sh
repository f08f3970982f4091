#!/usr/bin/env bash
# A PostgreSQL 15 + PostGIS 3 cluster of CivicLoop's own, data under the run directory, on a non-default port.
#   postgres.sh install|start|stop|status
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run="${CIVICLOOP_RUN_DIR:-$root/.run}/postgres"
port="${CIVICLOOP_PG_PORT:-21432}"
bin="/usr/lib/postgresql/15/bin"
db="${CIVICLOOP_PG_DB:-civicloop}"

log() { echo "postgres: $*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install() {
  if [ -x "$bin/postgres" ] && [ -f /usr/share/postgresql/15/extension/postgis.control ]; then return; fi
  log "installing postgresql-15 and postgresql-15-postgis-3 with apt-get"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-15-postgis-3 >/dev/null
}

# PostgreSQL refuses to run as root: when we are root, the server runs as the packaged `postgres` user.
run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pid_alive() { run_pg "$bin/pg_ctl" -D "$run/data" status >/dev/null 2>&1; }

start() {
  install
  mkdir -p "$run"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$run"
    # The server user must be able to reach its data directory through the checkout's parents.
    local d="$run"; while [ "$d" != / ]; do d="$(dirname "$d")"; chmod o+x "$d" 2>/dev/null || true; done
  fi
  if [ ! -f "$run/data/PG_VERSION" ]; then
    run_pg "$bin/initdb" -D "$run/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$run/initdb.log" 2>&1 \
      || { cat "$run/initdb.log" >&2; exit 1; }
    log "initialised a cluster in $run/data"
  fi
  local running_port
  running_port="$(sed -n 4p "$run/data/postmaster.pid" 2>/dev/null || true)"
  if pid_alive && [ -n "$running_port" ] && [ "$running_port" != "$port" ]; then
    # Started with another port (an older default, say): stop it before starting on this one.
    log "the cluster of this run directory listens on $running_port, not $port; stop it first: $0 stop"
    exit 1
  fi
  if ! pid_alive && "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q 2>/dev/null; then
    # Another checkout's cluster holds the port (tests isolate themselves in databases of their own): use it.
    log "a server of another run directory already listens on 127.0.0.1:$port; using it"
  elif ! pid_alive; then
    mkdir -p "$run/sock"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$run/sock"
    run_pg "$bin/pg_ctl" -D "$run/data" -l "$run/postgres.log" -w -t 60 \
      -o "-p $port -k $run/sock -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB -c fsync=on" \
      start >/dev/null || { tail -n 30 "$run/postgres.log" >&2; exit 1; }
  fi
  # pg_ctl -w returns once the server accepts connections; pg_isready confirms over TCP.
  for _ in $(seq 1 120); do
    "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q && break; sleep 0.25
  done
  "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q || { log "not accepting connections"; exit 1; }
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -q -c "create database $db"
  fi
  PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -p "$port" -U postgres -d "$db" -q -c "create extension if not exists postgis"
  log "up on 127.0.0.1:$port (database $db, $(psql -h 127.0.0.1 -p "$port" -U postgres -d "$db" -tAc 'select postgis_lib_version()' | sed 's/^/PostGIS /'))"
}

stop() {
  if [ -f "$run/data/PG_VERSION" ] && pid_alive; then
    run_pg "$bin/pg_ctl" -D "$run/data" -m fast -w stop >/dev/null; log "stopped"
  fi
}

status() { if "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q 2>/dev/null; then echo "postgres: up on 127.0.0.1:$port"; else echo "postgres: down"; return 1; fi; }

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
