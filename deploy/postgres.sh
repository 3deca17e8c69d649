#!/usr/bin/env bash
# A private PostgreSQL cluster from Debian's packages on loopback, for tests and development.
#
#   deploy/postgres.sh start --port P --home DIR   (initdb on first use; trust auth, 127.0.0.1 only)
#   deploy/postgres.sh stop --home DIR
#   deploy/postgres.sh url --port P                (prints the SQLAlchemy URL)
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

port=5439 home=""
cmd=${1:-}; shift || true
while [ $# -gt 0 ]; do
  case $1 in
    --port) port=$2; shift 2 ;;
    --home) home=$2; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
url="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
[ "$cmd" = url ] && { echo "$url"; exit 0; }
[ -n "$home" ] || die "usage: postgres.sh start|stop --home DIR [--port P] | url --port P"

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || die "PostgreSQL is not installed (apt-get install postgresql)"
id postgres >/dev/null 2>&1 || die "the postgres system user is missing (apt-get install postgresql)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

mkdir -p "$home"; home=$(cd "$home" && pwd)
[ "$(id -u)" = 0 ] && chown postgres "$home"

case $cmd in
  start)
    if [ ! -f "$home/data/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$home/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if as_pg "$bin/pg_ctl" -D "$home/data" status >/dev/null 2>&1; then
      echo "postgres.sh: already running" >&2; exit 0
    fi
    as_pg "$bin/pg_ctl" -D "$home/data" -l "$home/postgres.log" -w -t 60 \
      -o "-p $port -k $home -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null \
      || { cat "$home/postgres.log" >&2; die "PostgreSQL did not start"; }
    echo "postgres.sh: up on 127.0.0.1:$port" >&2 ;;
  stop)
    if [ -f "$home/data/postmaster.pid" ]; then
      as_pg "$bin/pg_ctl" -D "$home/data" -m fast -w stop >/dev/null && echo "postgres.sh: stopped" >&2
    fi ;;
  *) die "usage: postgres.sh start|stop --home DIR [--port P] | url --port P" ;;
esac
