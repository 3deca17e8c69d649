#!/usr/bin/env bash
# A three-node OpenSearch cluster on loopback, one JVM per node, from the same Maven Central jars
# as deploy/opensearch.sh (no tarball, no Docker): for replicas, failover and fault tests.
#
#   deploy/cluster.sh start           start the three nodes, wait until they form one cluster
#   deploy/cluster.sh stop            stop every node (TERM, then KILL after 30 s)
#   deploy/cluster.sh status          each node's pid and state, then the cluster's health
#   deploy/cluster.sh kill-node N     kill -9 node N (1..3), as a crash would
#   deploy/cluster.sh start-node N    start node N again and wait until it has joined
#   deploy/cluster.sh urls            the nodes' URLs, comma-separated (XIANSUO_OPENSEARCH_URL)
#   deploy/cluster.sh clean           stop, then delete the cluster's data
#
# Node N listens on HTTP $XIANSUO_CLUSTER_HTTP_PORT+N-1 (default 9270..9272) and transport
# $XIANSUO_CLUSTER_TRANSPORT_PORT+N-1 (default 9370..9372), keeps its data, logs and pid under
# $XIANSUO_CLUSTER_HOME/node-N (default .state/cluster), and has a $XIANSUO_CLUSTER_HEAP heap
# (default 512m). Each node is started by deploy/opensearch/ClusterNode.java (Java's single-file
# source launcher, no build step), which gives the embedded runner the node's own opensearch.yml.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
script=cluster.sh
# shellcheck source=deploy/lib/opensearch-common.sh
. "$here/lib/opensearch-common.sh"

home=${XIANSUO_CLUSTER_HOME:-$here/../.state/cluster}
http_base=${XIANSUO_CLUSTER_HTTP_PORT:-9270}
transport_base=${XIANSUO_CLUSTER_TRANSPORT_PORT:-9370}
heap=${XIANSUO_CLUSTER_HEAP:-512m}
name=${XIANSUO_CLUSTER_NAME:-xiansuo-cluster}
nodes=3
# Seconds to wait for the cluster to form (three JVMs starting at once on two shared cores).
start_timeout_s=${XIANSUO_CLUSTER_START_TIMEOUT_S:-240}

http_port() { echo $((http_base + $1 - 1)); }
transport_port() { echo $((transport_base + $1 - 1)); }
node_dir() { echo "$home/node-$1"; }
node_pid() { cat "$(node_dir "$1")/node.pid" 2>/dev/null || true; }
node_alive() { local pid; pid=$(node_pid "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

check_node() {  # check_node N: refuse a node number outside 1..3
  [[ ${1:-} =~ ^[1-3]$ ]] || die "node must be 1, 2 or 3 (got '${1:-}')"
}

# write_config N: the node's opensearch.yml, read by ClusterNode.java (its values win over the
# runner's defaults) and by the runner itself.
write_config() {
  local n=$1 i seeds="" managers=""
  for i in $(seq 1 $nodes); do
    seeds+="${seeds:+, }\"127.0.0.1:$(transport_port "$i")\""
    managers+="${managers:+, }\"node-$i\""
  done
  mkdir -p "$(node_dir "$n")/node_1/config"
  cat > "$(node_dir "$n")/node_1/config/opensearch.yml" <<YML
cluster.name: $name
node.name: node-$n
node.roles: [cluster_manager, data]
network.host: 127.0.0.1
http.port: $(http_port "$n")
transport.port: $(transport_port "$n")
discovery.type: zen
discovery.seed_hosts: [$seeds]
# Used only the first time the cluster forms; a node that has joined once keeps its state.
cluster.initial_cluster_manager_nodes: [$managers]
# A nearly full developer disk would otherwise turn every index read-only.
cluster.routing.allocation.disk.threshold_enabled: false
node.portsfile: true
action.auto_create_index: false
YML
}

launch_node() {  # launch_node N JAVA LIB: start the node's JVM in the background
  local n=$1 java=$2 lib=$3 dir
  dir=$(node_dir "$n")
  if node_alive "$n"; then echo "$script: node-$n already running (pid $(node_pid "$n"))" >&2; return 0; fi
  port_busy "$(http_port "$n")" && die "port $(http_port "$n") is taken by another program"
  port_busy "$(transport_port "$n")" && die "port $(transport_port "$n") is taken by another program"
  write_config "$n"
  nohup setsid "$java" -Xms"$heap" -Xmx"$heap" -Dlog4j2.formatMsgNoLookups=true \
      --add-modules jdk.incubator.vector -cp "$lib/*" \
      "$here/opensearch/ClusterNode.java" "$dir" "$name" \
      > "$dir/stdout.log" 2>&1 < /dev/null &
  echo $! > "$dir/node.pid"
  echo "$script: node-$n starting (pid $!) on http://127.0.0.1:$(http_port "$n")" >&2
}

java_and_lib() {  # prints "<java> <lib dir>", fetching the jars on first use
  local java version
  read -r java version < <(pick_java)
  fetch "$version"
  echo "$java $(lib_dir "$version")"
}

cluster_nodes() {  # cluster_nodes PORT: number of nodes the cluster reports through PORT
  curl -fsS --max-time 2 "http://127.0.0.1:$1/_cluster/health" 2>/dev/null \
    | sed -n 's/.*"number_of_nodes":\([0-9]*\).*/\1/p' || true
}

# wait_joined N WANT: until node N answers as part of a cluster of WANT nodes (yellow or green).
wait_joined() {
  local n=$1 want=$2 waited=0 port status
  port=$(http_port "$n")
  while [ $waited -lt "$start_timeout_s" ]; do
    status=$(health "$port")
    if { [ "$status" = green ] || [ "$status" = yellow ]; } && [ "$(cluster_nodes "$port")" = "$want" ]; then
      echo "$script: node-$n is in a cluster of $want nodes ($status) after ${waited}s" >&2
      return 0
    fi
    node_alive "$n" || { echo "$script: node-$n exited; its log follows" >&2; tail -n 60 "$(node_dir "$n")/stdout.log" >&2; return 1; }
    sleep 1; waited=$((waited + 1))
  done
  echo "$script: node-$n did not join a cluster of $want nodes in ${start_timeout_s}s; its log follows" >&2
  tail -n 60 "$(node_dir "$n")/stdout.log" >&2
  return 1
}

start() {
  local java lib n
  mkdir -p "$home"
  home=$(cd "$home" && pwd)
  read -r java lib < <(java_and_lib)
  echo "$script: starting $nodes nodes of '$name' with $java under $home" >&2
  for n in $(seq 1 $nodes); do mkdir -p "$(node_dir "$n")"; launch_node "$n" "$java" "$lib"; done
  for n in $(seq 1 $nodes); do
    wait_joined "$n" $nodes || { stop; exit 1; }
  done
  echo "$script: up: $(urls)" >&2
}

stop() {
  local n
  for n in $(seq 1 $nodes); do stop_pid "$(node_dir "$n")/node.pid" "node-$n"; done
}

kill_node() {
  local n=$1 pid waited=0
  check_node "$n"
  node_alive "$n" || die "node-$n is not running"
  pid=$(node_pid "$n")
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
  rm -f "$(node_dir "$n")/node.pid"
  echo "$script: node-$n killed (kill -9 $pid)" >&2
}

start_node() {
  local n=$1 java lib
  check_node "$n"
  [ -d "$home" ] || die "no cluster under $home: run '$script start' first"
  home=$(cd "$home" && pwd)
  read -r java lib < <(java_and_lib)
  mkdir -p "$(node_dir "$n")"
  launch_node "$n" "$java" "$lib"
  wait_joined "$n" $nodes
}

status() {
  local n state answer
  for n in $(seq 1 $nodes); do
    if node_alive "$n"; then
      state=$(health "$(http_port "$n")")
      printf 'node-%s  http://127.0.0.1:%s  pid %s  %s\n' "$n" "$(http_port "$n")" "$(node_pid "$n")" "${state:-not answering}"
    else
      printf 'node-%s  http://127.0.0.1:%s  down\n' "$n" "$(http_port "$n")"
    fi
  done
  for n in $(seq 1 $nodes); do
    answer=$(curl -fsS --max-time 2 "http://127.0.0.1:$(http_port "$n")/_cat/health?h=cluster,status,node.total,shards,unassign" 2>/dev/null || true)
    [ -n "$answer" ] && { echo "cluster: $answer"; return 0; }
  done
  echo "cluster: not answering"
  return 1
}

urls() {
  local n out=""
  for n in $(seq 1 $nodes); do out+="${out:+,}http://127.0.0.1:$(http_port "$n")"; done
  echo "$out"
}

cmd=${1:-}; shift || true
case $cmd in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill-node) kill_node "${1:-}" ;;
  start-node) start_node "${1:-}" ;;
  urls) urls ;;
  clean) stop; rm -rf "$home"; echo "$script: removed $home" >&2 ;;
  *) die "usage: cluster.sh start | stop | status | kill-node N | start-node N | urls | clean" ;;
esac
