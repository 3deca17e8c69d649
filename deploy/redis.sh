#!/usr/bin/env bash
# Redis from Debian's redis-server on loopback, for the Celery broker in development and CI.
#
#   deploy/redis.sh start --port P --home DIR   (no persistence: the broker state is scratch)
#   deploy/redis.sh stop --home DIR
set -euo pipefail

die() { echo "redis.sh: $*" >&2; exit 1; }

port=6390 home=""
cmd=${1:-}; shift || true
while [ $# -gt 0 ]; do
  case $1 in
    --port) port=$2; shift 2 ;;
    --home) home=$2; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
[ -n "$home" ] || die "usage: redis.sh start|stop --home DIR [--port P]"
mkdir -p "$home"; home=$(cd "$home" && pwd)

case $cmd in
  start)
    command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
    if redis-cli -p "$port" ping >/dev/null 2>&1; then echo "redis.sh: already running on $port" >&2; exit 0; fi
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
      --pidfile "$home/redis.pid" --logfile "$home/redis.log" --dir "$home"
    for _ in $(seq 50); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && { echo "redis.sh: up on 127.0.0.1:$port" >&2; exit 0; }
      sleep 0.1
    done
    cat "$home/redis.log" >&2; die "redis did not start" ;;
  stop)
    if [ -f "$home/redis.pid" ]; then
      kill "$(cat "$home/redis.pid")" 2>/dev/null || true
      rm -f "$home/redis.pid"; echo "redis.sh: stopped" >&2
    fi ;;
  *) die "usage: redis.sh start|stop --home DIR [--port P]" ;;
esac
