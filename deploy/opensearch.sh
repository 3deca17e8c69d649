#!/usr/bin/env bash
# A single-node OpenSearch assembled from Maven Central artifacts (no tarball, no Docker).
#
#   deploy/opensearch.sh fetch                       resolve and cache the jars (idempotent)
#   deploy/opensearch.sh start --port P --home DIR   start a node on 127.0.0.1:P, wait for yellow/green
#   deploy/opensearch.sh stop --home DIR             stop it cleanly (TERM, then KILL after 30 s)
#   deploy/opensearch.sh status --port P             print cluster health
#
# OpenSearch 3.x runs on a JDK >= 21 (the Temurin JDK here); with only JDK 17 available the script
# falls back to 2.19. The jars are cached under $XIANSUO_CACHE_DIR (default ~/.cache/xiansuo), so a
# second start needs no network and no Maven.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
script=opensearch.sh
# shellcheck source=deploy/lib/opensearch-common.sh
. "$here/lib/opensearch-common.sh"
heap=${XIANSUO_OPENSEARCH_HEAP:-1g}

start() {
  local port=9250 home="" name=xiansuo
  while [ $# -gt 0 ]; do
    case $1 in
      --port) port=$2; shift 2 ;;
      --home) home=$2; shift 2 ;;
      --name) name=$2; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [ -n "$home" ] || die "start needs --home DIR (data, logs and pid file go there)"
  mkdir -p "$home"
  home=$(cd "$home" && pwd)
  if [ -f "$home/opensearch.pid" ] && kill -0 "$(cat "$home/opensearch.pid")" 2>/dev/null; then
    [ -n "$(health "$port")" ] && { echo "opensearch.sh: already running on $port" >&2; return 0; }
  fi
  port_busy "$port" && die "port $port is taken by another program"

  local java version
  read -r java version < <(pick_java)
  fetch "$version"
  echo "opensearch.sh: starting OpenSearch (runner $version) with $java on 127.0.0.1:$port" >&2

  # The runner keeps a pre-created opensearch.yml; node 1 lives in node_1/.
  mkdir -p "$home/node_1/config"
  cat > "$home/node_1/config/opensearch.yml" <<YML
network.host: 127.0.0.1
transport.port: $((port + 100))
discovery.type: single-node
# A nearly full developer disk would otherwise turn every index read-only.
cluster.routing.allocation.disk.threshold_enabled: false
node.portsfile: true
action.auto_create_index: false
YML
  # Node 1 listens on baseHttpPort + 1.
  nohup setsid "$java" -Xms"$heap" -Xmx"$heap" -Dlog4j2.formatMsgNoLookups=true \
      --add-modules jdk.incubator.vector -cp "$(lib_dir "$version")/*" \
      org.codelibs.opensearch.runner.OpenSearchRunner \
      -basePath "$home" -numOfNode 1 -baseHttpPort $((port - 1)) -clusterName "$name" \
      > "$home/stdout.log" 2>&1 < /dev/null &
  echo $! > "$home/opensearch.pid"
  echo "$port" > "$home/opensearch.port"

  local waited=0 status=""
  while [ $waited -lt 180 ]; do
    status=$(health "$port")
    if [ "$status" = green ] || [ "$status" = yellow ]; then
      echo "opensearch.sh: up on http://127.0.0.1:$port ($status) after ${waited}s" >&2
      return 0
    fi
    kill -0 "$(cat "$home/opensearch.pid")" 2>/dev/null || break
    sleep 1; waited=$((waited + 1))
  done
  echo "opensearch.sh: OpenSearch did not come up; its log follows" >&2
  tail -n 80 "$home/stdout.log" >&2 || true
  stop --home "$home" || true
  exit 1
}

stop() {
  local home=""
  while [ $# -gt 0 ]; do
    case $1 in
      --home) home=$2; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [ -n "$home" ] || die "stop needs --home DIR"
  stop_pid "$home/opensearch.pid"
}

cmd=${1:-}; shift || true
case $cmd in
  fetch) read -r _ version < <(pick_java); fetch "$version" ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  status) health "${2:-9250}" ;;
  *) die "usage: opensearch.sh fetch | start --port P --home DIR [--name N] | stop --home DIR | status --port P" ;;
esac
