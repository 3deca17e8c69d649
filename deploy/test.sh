#!/usr/bin/env bash
# The whole test suite against real services: installs what is missing, starts OpenSearch, Redis
# and PostgreSQL on test ports (unless XIANSUO_OPENSEARCH_URL / XIANSUO_REDIS_URL /
# XIANSUO_TEST_POSTGRES_URL point elsewhere), runs the checks and pytest, stops what it started.
# Extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

deploy/bootstrap.sh

state=${XIANSUO_TEST_STATE_DIR:-$root/.state/test}
os_port=${XIANSUO_TEST_OPENSEARCH_PORT:-9260}
redis_port=${XIANSUO_TEST_REDIS_PORT:-6391}
pg_port=${XIANSUO_TEST_POSTGRES_PORT:-5439}
started=()
cleanup() {
  for s in "${started[@]}"; do
    case $s in
      opensearch) deploy/opensearch.sh stop --home "$state/opensearch" || true ;;
      redis) deploy/redis.sh stop --home "$state/redis" || true ;;
      postgres) deploy/postgres.sh stop --home "$state/postgres" || true ;;
    esac
  done
}
trap cleanup EXIT

if [ -z "${XIANSUO_OPENSEARCH_URL:-}" ]; then
  # A clean node each run: indices of an interrupted earlier run do not linger.
  if ! deploy/opensearch.sh status "$os_port" | grep -qE 'green|yellow'; then rm -rf "$state/opensearch"; fi
  deploy/opensearch.sh start --port "$os_port" --home "$state/opensearch" --name xiansuo-test
  started+=(opensearch)
  export XIANSUO_OPENSEARCH_URL=http://127.0.0.1:$os_port
fi
if [ -z "${XIANSUO_REDIS_URL:-}" ]; then
  deploy/redis.sh start --port "$redis_port" --home "$state/redis"
  started+=(redis)
  export XIANSUO_REDIS_URL=redis://127.0.0.1:$redis_port/0
fi

if [ -z "${XIANSUO_TEST_POSTGRES_URL:-}" ]; then
  rm -rf "$state/postgres"  # a fresh cluster each run
  deploy/postgres.sh start --port "$pg_port" --home "$state/postgres"
  started+=(postgres)
  XIANSUO_TEST_POSTGRES_URL=$(deploy/postgres.sh url --port "$pg_port")
  export XIANSUO_TEST_POSTGRES_URL
fi

deploy/check.sh

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure, not a pass" >&2
  exit 1
fi
exit $rc
